package functions

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// MaxBodyBytes caps request bodies (a PFX certificate, base64 encoded, is a
// few KB; a connection with twenty of them stays far below).
const MaxBodyBytes = 256 << 10

// maxDrainBytes is how much of an oversized or refused body is read and
// dropped before answering, so the answer goes out on a connection the
// client (or the Functions host forwarding to us) can still read it from,
// rather than a reset while it is still sending. Beyond it net/http closes
// the connection. 100 MB is the Functions host's own request limit.
const maxDrainBytes = 100 << 20

// errBodyTooLarge is the limitedBody's refusal.
var errBodyTooLarge = errors.New("body too large")

// limitedBody reads at most n bytes of a body, then fails with
// errBodyTooLarge (unlike http.MaxBytesReader, it leaves the connection
// open: see drainBody).
type limitedBody struct {
	r io.Reader
	n int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		if n, _ := io.ReadFull(l.r, one[:]); n == 0 {
			return 0, io.EOF
		}
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// drainBody reads what is left of a refused body (up to maxDrainBytes).
func drainBody(r *http.Request) {
	if r.Body != nil {
		_, _ = io.CopyN(io.Discard, r.Body, maxDrainBytes)
	}
}

func tooLarge() *apiError {
	return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
		Detail: fmt.Sprintf("the body exceeds %d bytes; send a smaller request (large certificates: PEM or PFX, base64, a few KB)", MaxBodyBytes)}
}

// decode reads a JSON body strictly into v: application/json only, at most
// MaxBodyBytes, unknown fields rejected by name, one value only. Whatever
// it refuses, the rest of the body is drained first.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	err := decodeBody(r, v)
	if err != nil {
		drainBody(r)
	}
	return err
}

func decodeBody(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Detail: "send the body as application/json"}
		}
	}
	if r.ContentLength > MaxBodyBytes {
		return tooLarge()
	}
	if r.Body == nil {
		return bad("", "the body is empty; send a JSON object")
	}
	body := &limitedBody{r: r.Body, n: MaxBodyBytes}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.More() {
			return bad("", "the body holds more than one JSON value")
		}
		if _, err := dec.Token(); err != io.EOF {
			return bad("", "unexpected data after the JSON value")
		}
		return nil
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var ce base64.CorruptInputError
	switch {
	case errors.Is(err, errBodyTooLarge):
		return tooLarge()
	case errors.Is(err, io.EOF):
		return bad("", "the body is empty; send a JSON object")
	case errors.As(err, &se):
		return bad("", fmt.Sprintf("malformed JSON at byte %d", se.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return bad("", "truncated JSON")
	case errors.As(err, &te):
		field := jsonPath(te.Field)
		if field == "" {
			field = "(body)"
		}
		return bad(field, fmt.Sprintf("must be %s, not %s", jsonKind(te.Type.Kind().String()), te.Value))
	case errors.As(err, &ce):
		return bad("", fmt.Sprintf("a binary value is not base64 (byte %d of it): send the certificate as the base64 of the PEM or PFX file", int64(ce)))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return bad(name, fmt.Sprintf("unknown field %q", name))
	}
	// Other decoder errors name Go types: say what to send instead.
	return bad("", "the body does not fit this request; see its schema in /api/openapi.json")
}

// jsonPath drops the Go names encoding/json puts in a field path for
// embedded structs ("SecretInput.clientSecret"): the API's JSON names are
// lower camel case, so a segment starting with a capital is Go's.
func jsonPath(p string) string {
	var keep []string
	for _, seg := range strings.Split(p, ".") {
		if seg != "" && !(seg[0] >= 'A' && seg[0] <= 'Z') {
			keep = append(keep, seg)
		}
	}
	return strings.Join(keep, ".")
}

func bad(field, msg string) *apiError {
	e := &apiError{Status: http.StatusBadRequest, Code: "invalid_body", Detail: msg}
	if field != "" {
		e.Errors = []fieldError{{Field: field, Message: msg}}
		e.Detail = field + ": " + msg
	}
	return e
}

func jsonKind(k string) string {
	switch k {
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	}
	return "a number"
}
