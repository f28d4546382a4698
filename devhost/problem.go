package devhost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// DefaultMaxRequestBodyBytes is the request size limit of the Functions
// host's HTTP triggers (100 MB), the dev host's default.
const DefaultMaxRequestBodyBytes = 100 << 20

// hostError answers the host's own refusals as RFC 9457 problem details,
// the format of the API behind it, so a client reads every error alike.
func hostError(w http.ResponseWriter, r *http.Request, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "about:blank", "title": http.StatusText(status), "status": status,
		"detail": detail, "instance": r.URL.Path,
	})
}

// cleanPaths refuses paths with "." or ".." segments (escaped or not) and
// empty segments before the mux sees them: net/http's ServeMux would answer
// them with a 307 redirect and an HTML body.
func cleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seg, bad := uncleanSegment(r.URL.EscapedPath()); bad {
			hostError(w, r, http.StatusBadRequest, fmt.Sprintf("the path holds the segment %q; send the resource's path without '.', '..' or empty segments", seg))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// uncleanSegment returns the first "." , ".." or empty (inner) segment of
// an escaped path.
func uncleanSegment(escaped string) (string, bool) {
	parts := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	for i, p := range parts {
		seg, err := url.PathUnescape(p)
		if err != nil {
			seg = p
		}
		if seg == "." || seg == ".." || (seg == "" && i < len(parts)-1) {
			return seg, true
		}
	}
	return "", false
}

// bufferBody enforces MaxRequestBodyBytes before a request is forwarded.
// A body over the limit is read (up to drainBytes more) and answered 413,
// so the client gets the answer on a connection that is still usable
// instead of a reset while it is still sending. A body of unknown length
// (chunked) is read into memory first so the handler gets a whole body
// with its length; one of known length within the limit streams through.
func (h *Host) bufferBody(w http.ResponseWriter, r *http.Request) bool {
	limit := h.opts.MaxRequestBodyBytes
	tooLarge := func() bool {
		// Whatever cannot be drained makes net/http close the connection.
		_, _ = io.CopyN(io.Discard, r.Body, drainBytes(limit))
		hostError(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body exceeds the host's limit of %d bytes", limit))
		return false
	}
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	if r.ContentLength > limit {
		return tooLarge()
	}
	if r.ContentLength >= 0 {
		return true
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		hostError(w, r, http.StatusBadRequest, "the request body could not be read to its end")
		return false
	}
	if int64(len(body)) > limit {
		return tooLarge()
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	return true
}

// drainBytes is how much of an oversized body is read and dropped before
// answering: as much again as the limit, at least 64 MB.
func drainBytes(limit int64) int64 { return max(limit, 64<<20) }
