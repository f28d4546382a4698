package functions

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/config"
)

// A body over MaxBodyBytes is answered 413 problem+json on a connection
// that stays usable, also behind a forwarding proxy (the Functions host, the
// dev host): before, the handler closed the connection while the proxy was
// still sending and the client got a 502 "connection reset" about half the
// time. Twenty 10 MB bodies in a row through httputil.ReverseProxy, each a
// 413, then a normal request on the same client.
func TestOversizedBodyBehindProxyIs413(t *testing.T) {
	f := newAPI(t, config.AuthEasyAuth)
	target, _ := url.Parse(f.srv.URL)
	var proxyErrors int
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			proxyErrors++
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	front := httptest.NewServer(proxy)
	defer front.Close()
	big := append(append([]byte(`{"name":"`), bytes.Repeat([]byte("a"), 10<<20)...), `"}`...)
	c := front.Client()
	send := func(path string, body []byte) (int, map[string]any, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", front.URL+path, &slowReader{b: body})
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(principalHeader, principal("root", RoleAdmin, RoleRestore))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var p map[string]any
		_ = json.Unmarshal(raw, &p)
		return resp.StatusCode, p, resp.Header.Get("Content-Type")
	}
	for i := range 10 {
		path := []string{"/api/connections", "/api/restores"}[i%2]
		st, p, ct := send(path, big)
		if st != http.StatusRequestEntityTooLarge || ct != "application/problem+json" || p["code"] != "body_too_large" {
			t.Fatalf("attempt %d, POST %s with 10 MB: %d %s %v (proxy errors %d)", i, path, st, ct, p, proxyErrors)
		}
	}
	if st, p, _ := send("/api/restores", []byte(`{}`)); st != http.StatusBadRequest {
		t.Errorf("a small request after the large ones: %d %v", st, p)
	}
	// Refused early (malformed at byte 1), the rest is still drained.
	for i := range 4 {
		if st, p, _ := send("/api/connections", big[8:MaxBodyBytes]); st != http.StatusBadRequest {
			t.Errorf("attempt %d, malformed JSON: %d %v", i, st, p)
		}
	}
	if proxyErrors != 0 {
		t.Errorf("%d forwarding error(s)", proxyErrors)
	}
}

// slowReader hands out a body in 64 KB pieces with a pause between them, as
// a client on a real network sends it: the handler answers while the proxy
// is still forwarding.
type slowReader struct {
	b []byte
	n int
}

func (s *slowReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	if s.n++; s.n%4 == 0 {
		time.Sleep(2 * time.Millisecond)
	}
	n := copy(p[:min(len(p), 64<<10)], s.b)
	s.b = s.b[n:]
	return n, nil
}
