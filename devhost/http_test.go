package devhost

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// do sends a request and returns the status, the Content-Type and the body.
func do(t *testing.T, c *http.Client, method, url string, body io.Reader, header map[string]string) (int, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// problemOf checks a problem+json answer of status and returns its detail.
func problemOf(t *testing.T, what string, status int, ctype string, body []byte, want int) string {
	t.Helper()
	var p struct {
		Type, Title, Detail string
		Status              int
	}
	if err := json.Unmarshal(body, &p); err != nil || ctype != "application/problem+json" || status != want || p.Status != want || p.Title == "" || p.Detail == "" {
		t.Errorf("%s: %d %s %s, want a %d problem+json", what, status, ctype, body, want)
	}
	return p.Detail
}

// The host's own refusals (no key, wrong key, no route, a path with dot
// segments, the admin API without the master key) are problem+json, and a
// path with ".." is refused, not redirected.
func TestHostErrorsAreProblems(t *testing.T) {
	h := start(t, Options{FunctionKey: "fk", MasterKey: "mk"})
	base := h.host.URL()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cases := []struct {
		method, path string
		header       map[string]string
		want         int
	}{
		{"GET", "/api/echo/a", nil, 401},
		{"GET", "/api/echo/a", map[string]string{"x-functions-key": "wrong"}, 401},
		{"GET", "/api/nothing", nil, 404},
		{"GET", "/other", nil, 404},
		{"GET", "/api/echo/../open", map[string]string{"x-functions-key": "fk"}, 400},
		{"GET", "/api/echo/a/..", map[string]string{"x-functions-key": "fk"}, 400},
		{"GET", "/api/echo/%2e%2e/x", map[string]string{"x-functions-key": "fk"}, 400},
		{"GET", "/api/echo/./x", map[string]string{"x-functions-key": "fk"}, 400},
		{"GET", "/api//echo/x", map[string]string{"x-functions-key": "fk"}, 400},
		{"GET", "/../api/open", nil, 400},
		{"POST", "/admin/functions/Tick", nil, 401},
		{"POST", "/admin/functions/Nothing", map[string]string{"x-functions-key": "mk"}, 404},
		{"GET", "/admin/functions/Tick", map[string]string{"x-functions-key": "mk"}, 405},
		{"GET", "/admin/host/status", nil, 401},
	}
	for _, c := range cases {
		st, ct, body := do(t, noRedirect, c.method, base+c.path, nil, c.header)
		problemOf(t, c.method+" "+c.path, st, ct, body, c.want)
	}
	st, ct, body := do(t, noRedirect, "POST", base+"/admin/functions/Tick", strings.NewReader(`{"input":`), map[string]string{"x-functions-key": "mk"})
	if d := problemOf(t, "admin invoke with malformed JSON", st, ct, body, 400); strings.Contains(d, "json:") {
		t.Errorf("detail carries the decoder's text: %q", d)
	}
}

// A body over MaxRequestBodyBytes is answered 413 problem+json every time,
// on a connection the client can go on using: never a reset, never a 502.
// Chunked bodies are measured too; bodies within the limit reach the handler.
func TestBodyOverLimitIs413WithoutReset(t *testing.T) {
	h := start(t, Options{FunctionKey: "fk", MaxRequestBodyBytes: 1 << 20})
	url := h.host.URL() + "/api/echo/upload"
	key := map[string]string{"x-functions-key": "fk", "Content-Type": "application/json"}
	c := &http.Client{}
	big := bytes.Repeat([]byte("a"), 10<<20)
	for i := range 20 {
		st, ct, body := do(t, c, "POST", url, bytes.NewReader(big), key)
		if d := problemOf(t, "10 MB body", st, ct, body, 413); !strings.Contains(d, "1048576") {
			t.Fatalf("attempt %d: detail %q does not name the limit", i, d)
		}
	}
	// io.MultiReader hides the length: the request goes out chunked.
	st, ct, body := do(t, c, "POST", url, io.MultiReader(bytes.NewReader(big[:2<<20])), key)
	problemOf(t, "2 MB chunked body", st, ct, body, 413)
	st, _, body = do(t, c, "POST", url, io.MultiReader(bytes.NewReader(big[:512<<10])), key)
	if st != 200 || !strings.Contains(string(body), `"path":"/api/echo/upload"`) {
		t.Errorf("512 KB chunked body: %d %s", st, body)
	}
	st, _, _ = do(t, c, "POST", url, bytes.NewReader(big[:1<<20]), key)
	if st != 200 {
		t.Errorf("a body of exactly the limit: %d", st)
	}
}

// When the handler does not answer, the 502 says so without the handler's
// loopback address, which only the log gets.
func TestForwardFailureHidesHandlerAddress(t *testing.T) {
	app, err := LoadApp(appDir)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now
	var logs bytes.Buffer
	h := &Host{opts: Options{MaxRequestBodyBytes: DefaultMaxRequestBodyBytes}, app: app,
		log: slog.New(slog.NewJSONHandler(&logs, nil)), handler: &handlerProcess{port: port}}
	srv := httptest.NewServer(h.httpHandler())
	defer srv.Close()
	st, ct, body := do(t, srv.Client(), "GET", srv.URL+"/api/open", nil, nil)
	problemOf(t, "handler down", st, ct, body, 502)
	if p := ":" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:"); strings.Contains(string(body), p) || strings.Contains(string(body), "127.0.0.1") {
		t.Errorf("the answer reveals the handler's address: %s", body)
	}
	if !strings.Contains(logs.String(), "forward failed") {
		t.Errorf("the failure is not logged: %s", logs.String())
	}
}
