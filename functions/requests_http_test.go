package functions

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
)

// httpCall is one call of requests.http.
type httpCall struct {
	title, method, target string
	header                http.Header
	body                  string
}

// parseRequestsHTTP reads the calls of a .http file (VS Code REST Client
// syntax): "### title", the request line, headers, a blank line, the body.
func parseRequestsHTTP(t *testing.T, text string) (vars map[string]string, calls []httpCall) {
	t.Helper()
	vars = map[string]string{}
	blocks := strings.Split(text, "\n###")
	for _, line := range strings.Split(blocks[0], "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.HasPrefix(line, "@") {
			vars[strings.TrimSpace(k[1:])] = strings.TrimSpace(v)
		}
	}
	for _, b := range blocks[1:] {
		lines := strings.Split(b, "\n")
		c := httpCall{title: strings.TrimSpace(lines[0]), header: http.Header{}}
		i := 1
		for ; i < len(lines) && (strings.TrimSpace(lines[i]) == "" || strings.HasPrefix(lines[i], "#")); i++ {
		}
		if i == len(lines) {
			t.Errorf("%q: no request line", c.title)
			continue
		}
		method, target, ok := strings.Cut(lines[i], " ")
		if !ok {
			t.Errorf("%q: request line %q", c.title, lines[i])
			continue
		}
		c.method, c.target = method, strings.TrimSpace(target)
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
			k, v, ok := strings.Cut(lines[i], ":")
			if !ok {
				t.Errorf("%q: header line %q", c.title, lines[i])
			}
			c.header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		c.body = strings.TrimSpace(strings.Join(lines[min(i, len(lines)):], "\n"))
		calls = append(calls, c)
	}
	return vars, calls
}

var (
	httpVar     = regexp.MustCompile(`\{\{([A-Za-z]+)\}\}`)
	placeholder = regexp.MustCompile(`"<[^"]*>"`)
)

// requestBodies are the request types the API decodes, by route.
func requestBodies() map[string]func() any {
	return map[string]func() any{
		"POST /api/connections":                   func() any { return &connections.NewConnection{} },
		"POST /api/connections/{id}/identities":   func() any { return &connections.NewIdentity{} },
		"POST /api/connections/{id}/rotate":       func() any { return &rotateRequest{} },
		"POST /api/connections/{id}/move":         func() any { return &moveRequest{} },
		"POST /api/connections/{id}/environments": func() any { return &addEnvironmentsRequest{} },
		"POST /api/environments/discover":         func() any { return &discoverRequest{} },
		"PUT /api/environments/{id}/policy":       func() any { return &connections.Policy{} },
		"POST /api/restores":                      func() any { return &restore.Request{} },
		"POST /api/backups/{environmentId}":       func() any { return &startRequest{} },
	}
}

// Every call in requests.http is one the router serves (or the host's
// admin API with a function that exists), sends the function key unless
// the route is anonymous (local runs need it too), and every body decodes
// strictly into the request type of its route and passes its validation;
// every route is shown at least once. Like TestOpenAPIMatchesRoutes, it
// keeps the file true to the code.
func TestRequestsHTTPMatchesRouter(t *testing.T) {
	raw, err := os.ReadFile("../requests.http")
	if err != nil {
		t.Fatal(err)
	}
	vars, calls := parseRequestsHTTP(t, string(raw))
	if len(calls) < 30 {
		t.Fatalf("parsed %d calls from requests.http: the parser is wrong", len(calls))
	}
	// Path values stand in for the ids the reader fills in.
	sample := map[string]string{"tenant": "00000000-0000-0000-0000-000000000001", "connection": "00000000-0000-0000-0000-00000000000c",
		"environment": "00000000-0000-0000-0000-00000000000e", "target": "00000000-0000-0000-0000-00000000000f",
		"run": "20260101T000000.000000Z-0000000a", "restore": "r20260101T000000-0000000b", "record": "00000000-0000-0000-0000-000000000001",
		"key": "k", "masterKey": "m", "token": "t"}
	for name := range vars {
		if _, ok := sample[name]; !ok && name != "base" {
			t.Errorf("requests.http declares @%s, which this test does not know: add a sample value", name)
		}
	}
	mux := http.NewServeMux()
	byPattern := map[string]route{}
	for _, rt := range routes() {
		byPattern[rt.Method+" "+rt.Pattern] = rt
		mux.HandleFunc(rt.Method+" "+rt.Pattern, func(http.ResponseWriter, *http.Request) {})
	}
	shown := map[string]bool{}
	fill := func(s string) string {
		return httpVar.ReplaceAllStringFunc(s, func(v string) string {
			name := v[2 : len(v)-2]
			if name == "base" {
				return "http://127.0.0.1:7071"
			}
			if x, ok := sample[name]; ok {
				return x
			}
			t.Errorf("unknown variable %s", v)
			return v
		})
	}
	for _, c := range calls {
		target, err := url.Parse(fill(c.target))
		if err != nil {
			t.Errorf("%q: target %q: %v", c.title, c.target, err)
			continue
		}
		if strings.HasPrefix(target.Path, "/admin/functions/") {
			name := strings.TrimPrefix(target.Path, "/admin/functions/")
			found := false
			for _, d := range Definitions() {
				found = found || d.Name == name
			}
			if !found || c.method != "POST" || c.header.Get("x-functions-key") != "{{masterKey}}" {
				t.Errorf("%q: %s %s is not a function run with the master key", c.title, c.method, target.Path)
			}
			continue
		}
		req := httptest.NewRequest(c.method, target.String(), nil)
		_, pattern := mux.Handler(req)
		rt, ok := byPattern[pattern]
		if !ok {
			t.Errorf("%q: %s %s matches no route", c.title, c.method, target.Path)
			continue
		}
		shown[pattern] = true
		if rt.Role != roleAnonymous && c.header.Get("x-functions-key") != "{{key}}" {
			t.Errorf("%q: %s needs the function key header (x-functions-key: {{key}})", c.title, pattern)
		}
		mk, takesBody := requestBodies()[pattern]
		switch {
		case c.body == "" && takesBody && pattern != "POST /api/backups/{environmentId}":
			t.Errorf("%q: %s takes a body; the call has none", c.title, pattern)
		case c.body != "" && !takesBody:
			t.Errorf("%q: %s takes no body; the call has one", c.title, pattern)
		case c.body != "":
			if c.header.Get("Content-Type") != "application/json" {
				t.Errorf("%q: a body without Content-Type: application/json", c.title)
			}
			v := mk()
			// "<...>" values are for the reader to fill in; base64 stands
			// for them, so binary fields (certificates) decode too.
			body := placeholder.ReplaceAllString(fill(c.body), `"cGxhY2Vob2xkZXI="`)
			r := httptest.NewRequest(c.method, target.String(), bytes.NewReader([]byte(body)))
			r.Header.Set("Content-Type", "application/json")
			if err := decode(httptest.NewRecorder(), r, v); err != nil {
				t.Errorf("%q: the body does not decode into %s: %v", c.title, pattern, err)
				continue
			}
			var verr error
			switch x := v.(type) {
			case *restore.Request:
				verr = x.Normalize()
			case *connections.Policy:
				verr = x.Validate()
			}
			var ve *restore.ValidationError
			if verr != nil && !errors.As(verr, &ve) || ve != nil {
				t.Errorf("%q: the body is refused: %v", c.title, verr)
			}
		}
	}
	for _, rt := range routes() {
		if !shown[rt.Method+" "+rt.Pattern] {
			t.Errorf("requests.http shows no call of %s %s", rt.Method, rt.Pattern)
		}
	}
}
