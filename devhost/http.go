package devhost

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"time"
)

// routeSegment is one segment of an HTTP trigger's route template.
type routeSegment struct {
	literal  string
	param    bool
	optional bool
	catchAll bool
}

type httpRoute struct {
	function  Function
	segments  []routeSegment
	methods   map[string]bool
	authLevel string
}

// parseRoute reads an ASP.NET-style route template: literal segments,
// {name}, {name?}, {name:constraint} and a trailing {*name} catch-all (which
// may match nothing, as in ASP.NET routing).
func parseRoute(template string) []routeSegment {
	var out []routeSegment
	for _, s := range strings.Split(strings.Trim(template, "/"), "/") {
		if s == "" {
			continue
		}
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			inner := s[1 : len(s)-1]
			seg := routeSegment{param: true}
			if strings.HasPrefix(inner, "*") {
				seg.catchAll = true
			}
			if strings.HasSuffix(inner, "?") {
				seg.optional = true
			}
			out = append(out, seg)
			continue
		}
		out = append(out, routeSegment{literal: strings.ToLower(s)})
	}
	return out
}

func (r httpRoute) match(path string) bool {
	var parts []string
	for _, p := range strings.Split(strings.Trim(path, "/"), "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	i := 0
	for _, seg := range r.segments {
		switch {
		case seg.catchAll:
			return true
		case i >= len(parts):
			if !seg.optional {
				return false
			}
		case seg.param:
			i++
		default:
			if strings.ToLower(parts[i]) != seg.literal {
				return false
			}
			i++
		}
	}
	return i == len(parts)
}

func (h *Host) routes() []httpRoute {
	var rs []httpRoute
	for _, f := range h.app.Functions {
		trig, _ := f.Trigger()
		if trig.Type != "httpTrigger" {
			continue
		}
		template := trig.Route
		if template == "" {
			template = f.Name
		}
		r := httpRoute{function: f, segments: parseRoute(template), methods: map[string]bool{}, authLevel: strings.ToLower(trig.AuthLevel)}
		for _, m := range trig.Methods {
			r.methods[strings.ToUpper(m)] = true
		}
		rs = append(rs, r)
	}
	// More literal segments first, so "backups/{id}" does not shadow "backups/verify".
	literals := func(r httpRoute) int {
		n := 0
		for _, s := range r.segments {
			if !s.param {
				n++
			}
		}
		return n
	}
	sort.SliceStable(rs, func(i, j int) bool { return literals(rs[i]) > literals(rs[j]) })
	return rs
}

func (h *Host) httpHandler() http.Handler {
	routes := h.routes()
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			target, _ := url.Parse(h.handler.base())
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
			if !h.opts.PassPrincipalHeaders {
				for k := range pr.Out.Header {
					if strings.HasPrefix(strings.ToUpper(k), "X-MS-CLIENT-PRINCIPAL") {
						pr.Out.Header.Del(k)
					}
				}
			}
		},
		// The error names the handler's loopback address: it goes to the
		// log, not to the client.
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			h.log.Warn("forward failed", "path", r.URL.Path, "error", err.Error())
			hostError(w, r, http.StatusBadGateway, "the custom handler did not answer (it may be restarting); retry in a few seconds. The dev host log has the details.")
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/admin/functions/{name}", h.adminInvoke)
	mux.HandleFunc("GET /admin/host/status", h.adminStatus)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			hostError(w, r, http.StatusNotFound, "not found: the API is under /api/")
			return
		}
		rest := strings.TrimPrefix(r.URL.Path, "/api/")
		for _, rt := range routes {
			if !rt.match(rest) || (len(rt.methods) > 0 && !rt.methods[r.Method]) {
				continue
			}
			if rt.authLevel != "anonymous" && !h.keyOK(r, rt.authLevel == "admin") {
				hostError(w, r, http.StatusUnauthorized, "a function key is required: send it as the x-functions-key header or the code query parameter")
				return
			}
			if !h.bufferBody(w, r) {
				return
			}
			proxy.ServeHTTP(w, r)
			return
		}
		hostError(w, r, http.StatusNotFound, "no HTTP function matches "+r.Method+" "+r.URL.Path)
	})
	return cleanPaths(mux)
}

func (h *Host) keyOK(r *http.Request, adminOnly bool) bool {
	key := r.Header.Get("x-functions-key")
	if key == "" {
		key = r.URL.Query().Get("code")
	}
	eq := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	if key == "" {
		return false
	}
	if eq(key, h.opts.MasterKey) {
		return true
	}
	return !adminOnly && eq(key, h.opts.FunctionKey)
}

// adminInvoke runs a non-HTTP function now, as the host's admin API does:
// POST /admin/functions/<name> {"input":"..."} with the master key. Timers
// fire with a fresh schedule status; queue functions get input as the body.
func (h *Host) adminInvoke(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		hostError(w, r, http.StatusMethodNotAllowed, "use POST")
		return
	}
	if !h.keyOK(r, true) {
		hostError(w, r, http.StatusUnauthorized, "the master key is required (x-functions-key)")
		return
	}
	f, ok := h.app.Function(r.PathValue("name"))
	if !ok {
		hostError(w, r, http.StatusNotFound, "no function "+r.PathValue("name"))
		return
	}
	var in struct {
		Input string `json:"input"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			hostError(w, r, http.StatusBadRequest, `the body must be {"input":"..."} (a JSON object with a string input)`)
			return
		}
	}
	trig, _ := f.Trigger()
	var payload []byte
	var err error
	switch trig.Type {
	case "timerTrigger":
		payload, err = TimerInvocation(f.Name, trig.Name, time.Time{}, time.Time{}, false)
	case "serviceBusTrigger":
		payload, err = ServiceBusInvocation(f.Name, trig.Name, ServiceBusDelivery{Body: []byte(in.Input), MessageID: newGUID(), DeliveryCount: 1, SequenceNumber: h.seq.Add(1), EnqueuedTime: time.Now()})
	case "queueTrigger":
		payload, err = QueueInvocation(f.Name, trig.Name, QueueDelivery{Body: []byte(in.Input), ID: newGUID(), DequeueCount: 1, InsertionTime: time.Now()})
	default:
		hostError(w, r, http.StatusBadRequest, "HTTP functions are called through /api/")
		return
	}
	if err != nil {
		hostError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	// Like the host, answer 202 at once and run the invocation in the background.
	go func() {
		if err := h.invoke(context.Background(), f.Name, payload); err != nil {
			h.log.Warn("on-demand invocation failed", "function", f.Name, "error", err.Error())
		}
	}()
	w.WriteHeader(http.StatusAccepted)
}

func (h *Host) adminStatus(w http.ResponseWriter, r *http.Request) {
	if !h.keyOK(r, true) {
		hostError(w, r, http.StatusUnauthorized, "the master key is required (x-functions-key)")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"state":       "Running",
		"invocations": h.stats.Invocations.Load(),
		"failures":    h.stats.Failures.Load(),
		"poisoned":    h.stats.Poisoned.Load(),
	})
}
