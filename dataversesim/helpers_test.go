package dataversesim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// small default simulator for most tests
func small(t *testing.T) (*Server, *Env) {
	t.Helper()
	s := Start(t, Options{Records: 200, Seed: 42})
	return s, s.Demo()
}

type resp struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r resp) errCode() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		c, _ := e["code"].(string)
		return c
	}
	return ""
}

func (r resp) errMsg() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		c, _ := e["message"].(string)
		return c
	}
	return ""
}

func (r resp) values() []any {
	v, _ := r.body["value"].([]any)
	return v
}

// call sends a request with the env's default app token unless a
// Authorization header is given ("-" = none).
func call(t *testing.T, e *Env, method, url string, body any, hdr ...string) resp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
		url = e.APIURL() + url
	}
	req, err := http.NewRequest(method, strings.ReplaceAll(url, " ", "%20"), rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("OData-MaxVersion", "4.0")
	req.Header.Set("OData-Version", "4.0")
	for i := 0; i+1 < len(hdr); i += 2 {
		if http.CanonicalHeaderKey(hdr[i]) == "Content-Type" {
			req.Header.Set(hdr[i], hdr[i+1])
		} else {
			req.Header.Add(hdr[i], hdr[i+1])
		}
	}
	if req.Header.Get("Authorization") == "" {
		tok, err := e.Token("")
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	} else if req.Header.Get("Authorization") == "-" {
		req.Header.Del("Authorization")
	}
	res, err := e.s.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	r := resp{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 && strings.Contains(res.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s %s: bad JSON %v: %.300s", method, url, err, raw)
		}
	}
	return r
}

func want(t *testing.T, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %.500s", r.status, status, r.raw)
	}
}
