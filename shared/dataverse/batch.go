package dataverse

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// MaxBatchRequests is Dataverse's cap on the requests of one $batch.
const MaxBatchRequests = 1000

// maxBatchResponse caps a $batch answer read into memory.
const maxBatchResponse = 256 << 20

// BatchRequest is one request inside a $batch.
type BatchRequest struct {
	Method string
	// Path is relative to the Web API root ("accounts(<id>)") or a "$n"
	// reference to an earlier request of the same change set.
	Path   string
	Header http.Header
	// Body is the JSON body (nil for none).
	Body []byte
}

// ChangeSet is an atomic group of requests: all succeed or none is kept.
// Each request gets Content-ID 1..n inside the change set.
type ChangeSet []BatchRequest

// BatchOptions tune ExecuteBatch.
type BatchOptions struct {
	// StopOnError leaves out Prefer: odata.continue-on-error, so the server
	// stops at the first failed request: the batch answers with that
	// request's status and, in its body, the parts run so far with the
	// failing one last; ExecuteBatch maps them as usual, the failed change
	// set gets its error and the change sets after it ErrBatchNotRun
	// (powerapps-docs, developer/data-platform/webapi/execute-batch-operations-using-web-api.md,
	// "Handling errors").
	StopOnError bool
	// Write options (bypass, flows) are sent on every inner request.
	Write *WriteOptions
}

// BatchResponse is one inner response.
type BatchResponse struct {
	ContentID  string
	StatusCode int
	Header     http.Header
	Body       []byte
}

// Err returns the inner response as a *ResponseError (nil for 2xx).
func (r BatchResponse) Err(method, path string) error {
	if r.StatusCode >= 200 && r.StatusCode < 300 {
		return nil
	}
	code, msg := parseErrorBody(r.Body)
	if r.StatusCode == http.StatusTooManyRequests {
		return &ThrottledError{RetryAfter: retryAfter(r.Header.Get("Retry-After"), timeNow()), Code: code, Message: msg}
	}
	return &ResponseError{StatusCode: r.StatusCode, Code: code, Message: msg, Method: method, URL: path}
}

// ChangeSetResult is the outcome of one change set: its responses when it
// was committed, or Err (the failing request's error, a *ResponseError) when
// it was rolled back, or ErrBatchNotRun when the server stopped before it.
type ChangeSetResult struct {
	Responses []BatchResponse
	Err       error
}

// ErrBatchNotRun marks change sets the server did not execute (it stopped
// at an earlier failure, or the answer ended early).
var ErrBatchNotRun = errors.New("dataverse: change set not executed")

// BatchPart is one top-level part of a $batch answer: a committed change set
// (ChangeSet set) or a single response (a failed change set's failing
// request, or a request sent outside any change set).
type BatchPart struct {
	ChangeSet []BatchResponse
	Single    *BatchResponse
}

// ExecuteBatch sends the change sets in one $batch and maps the answer back
// to them in order. Per-change-set failures are in the results; an answer
// that is not a batch answer (a 429 of the batch itself, a malformed
// request, an authentication failure: anything but multipart/mixed) is
// returned as the error. A batch stopped at a failure (StopOnError) answers
// multipart/mixed with the failure's status: that is a batch answer.
func (c *Client) ExecuteBatch(ctx context.Context, sets []ChangeSet, o *BatchOptions) ([]ChangeSetResult, error) {
	if o == nil {
		o = &BatchOptions{}
	}
	n := 0
	for _, cs := range sets {
		n += len(cs)
	}
	if n > MaxBatchRequests {
		return nil, fmt.Errorf("dataverse: %d requests in one $batch (max %d)", n, MaxBatchRequests)
	}
	body, boundary := EncodeBatch(c.apiBase, sets, o.Write)
	req, err := c.newRequest(ctx, http.MethodPost, "$batch", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", `multipart/mixed; boundary="`+boundary+`"`)
	req.Header.Set("Accept", "application/json")
	if !o.StopOnError {
		req.Header.Set("Prefer", "odata.continue-on-error")
	}
	resp, err := c.doAccepting(ctx, req, isBatchAnswer)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	parts, err := ParseBatchResponse(resp.Header.Get("Content-Type"), io.LimitReader(resp.Body, maxBatchResponse))
	if err != nil {
		return nil, fmt.Errorf("dataverse: $batch answer (status %d): %w", resp.StatusCode, err)
	}
	if resp.StatusCode >= 300 && !anyFailed(parts) {
		// A failure status must come with the failing part; without it
		// nothing says which change set failed.
		return nil, &ResponseError{StatusCode: resp.StatusCode, Method: req.Method, URL: redact(req.URL),
			Message: fmt.Sprintf("the $batch answered %d with %d part(s), none of them failed", resp.StatusCode, len(parts))}
	}
	return MatchBatch(sets, parts), nil
}

// isBatchAnswer reports a non-2xx answer that carries the batch's parts: a
// batch stopped at a failed request (no continue-on-error).
func isBatchAnswer(resp *http.Response) bool {
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/mixed" && resp.StatusCode >= 400 && resp.StatusCode != http.StatusTooManyRequests
}

// anyFailed reports whether an answer holds a non-2xx response.
func anyFailed(parts []BatchPart) bool {
	for _, p := range parts {
		if p.Single != nil && (p.Single.StatusCode < 200 || p.Single.StatusCode > 299) {
			return true
		}
		for _, r := range p.ChangeSet {
			if r.StatusCode < 200 || r.StatusCode > 299 {
				return true
			}
		}
	}
	return false
}

// MatchBatch maps the parts of an answer to the change sets sent: part i
// answers change set i (the server answers in order, one part per change
// set); missing parts mean the server stopped.
func MatchBatch(sets []ChangeSet, parts []BatchPart) []ChangeSetResult {
	out := make([]ChangeSetResult, len(sets))
	for i, cs := range sets {
		if i >= len(parts) {
			out[i].Err = ErrBatchNotRun
			continue
		}
		p := parts[i]
		if p.Single != nil {
			method, path := "", ""
			if k, err := strconv.Atoi(p.Single.ContentID); err == nil && k >= 1 && k <= len(cs) {
				method, path = cs[k-1].Method, cs[k-1].Path
			} else if len(cs) > 0 {
				method, path = cs[0].Method, cs[0].Path
			}
			err := p.Single.Err(method, path)
			if err == nil {
				// A change set of one request answered outside a change set.
				out[i].Responses = []BatchResponse{*p.Single}
				continue
			}
			out[i].Err = err
			continue
		}
		out[i].Responses = p.ChangeSet
		for j, r := range p.ChangeSet {
			if e := r.Err(reqAt(cs, j)); e != nil {
				out[i].Err = e
				break
			}
		}
	}
	return out
}

func reqAt(cs ChangeSet, j int) (string, string) {
	if j < len(cs) {
		return cs[j].Method, cs[j].Path
	}
	return "", ""
}

func newBoundary(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// EncodeBatch renders the multipart/mixed body of a $batch: one change set
// per element of sets, each request with Content-ID 1..n. apiBase is the
// absolute Web API root (request lines carry absolute paths).
func EncodeBatch(apiBase string, sets []ChangeSet, wo *WriteOptions) ([]byte, string) {
	boundary := newBoundary("batch_")
	basePath := apiBase
	if i := strings.Index(basePath, "/api/data/"); i >= 0 {
		basePath = basePath[i:]
	}
	var b bytes.Buffer
	for _, cs := range sets {
		csb := newBoundary("changeset_")
		fmt.Fprintf(&b, "--%s\r\nContent-Type: multipart/mixed; boundary=%s\r\n\r\n", boundary, csb)
		for j, r := range cs {
			fmt.Fprintf(&b, "--%s\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: %d\r\n\r\n", csb, j+1)
			target := r.Path
			if !strings.HasPrefix(target, "$") {
				target = basePath + strings.TrimPrefix(target, "/")
			}
			fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", r.Method, target)
			h := http.Header{}
			for k, v := range r.Header {
				h[k] = v
			}
			wo.Apply(h)
			if len(r.Body) > 0 && h.Get("Content-Type") == "" {
				h.Set("Content-Type", "application/json; type=entry")
			}
			_ = h.Write(&b)
			b.WriteString("\r\n")
			if len(r.Body) > 0 {
				b.Write(r.Body)
			}
			b.WriteString("\r\n")
		}
		fmt.Fprintf(&b, "--%s--\r\n", csb)
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes(), boundary
}

// ParseBatchResponse reads a $batch answer (multipart/mixed with a
// boundary): top-level parts are either a change set response (nested
// multipart/mixed) or one application/http response. It never panics on
// malformed input and bounds what it reads by the reader it is given.
func ParseBatchResponse(contentType string, r io.Reader) ([]BatchPart, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		return nil, fmt.Errorf("content type %q is not multipart/mixed with a boundary", contentType)
	}
	mr := multipart.NewReader(r, params["boundary"])
	var out []BatchPart
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		pt, pparams, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if pt == "multipart/mixed" {
			if pparams["boundary"] == "" {
				return out, errors.New("change set response without boundary")
			}
			inner := multipart.NewReader(p, pparams["boundary"])
			cs := []BatchResponse{}
			for {
				ip, err := inner.NextRawPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					return out, err
				}
				br, err := readHTTPPart(ip.Header, ip)
				if err != nil {
					return out, err
				}
				cs = append(cs, br)
			}
			out = append(out, BatchPart{ChangeSet: cs})
			continue
		}
		br, err := readHTTPPart(p.Header, p)
		if err != nil {
			return out, err
		}
		out = append(out, BatchPart{Single: &br})
	}
}

func readHTTPPart(h textproto.MIMEHeader, r io.Reader) (BatchResponse, error) {
	br := bufio.NewReader(r)
	// Skip blank lines before the status line.
	for {
		b, err := br.Peek(1)
		if err != nil {
			return BatchResponse{}, fmt.Errorf("empty response part: %w", err)
		}
		if b[0] != '\r' && b[0] != '\n' {
			break
		}
		_, _ = br.ReadByte()
	}
	line, err := br.ReadString('\n')
	if err != nil && line == "" {
		return BatchResponse{}, fmt.Errorf("response part: %w", err)
	}
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return BatchResponse{}, fmt.Errorf("invalid status line %q", strings.TrimSpace(line))
	}
	code, err := strconv.Atoi(f[1])
	if err != nil || code < 100 || code > 999 {
		return BatchResponse{}, fmt.Errorf("invalid status %q", f[1])
	}
	tp := textproto.NewReader(br)
	mh, err := tp.ReadMIMEHeader()
	if err != nil && err != io.EOF {
		return BatchResponse{}, fmt.Errorf("response part headers: %w", err)
	}
	body, err := io.ReadAll(br)
	if err != nil {
		return BatchResponse{}, err
	}
	return BatchResponse{ContentID: h.Get("Content-ID"), StatusCode: code, Header: http.Header(mh), Body: bytes.TrimRight(body, "\r\n")}, nil
}
