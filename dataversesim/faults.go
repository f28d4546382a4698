package dataversesim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// FaultKind selects what an injected fault does.
type FaultKind int

// Fault kinds (issue 3 item 5).
const (
	Fault500      FaultKind = iota // 500 with a Dataverse error body
	Fault503                       // 503 Service Unavailable
	FaultReset                     // status and headers, half the body, then the connection is closed
	FaultTruncate                  // the body is cut in half (JSON no longer parses), connection kept
	FaultSlow                      // the response is delayed by Delay, then served normally
	Fault429                       // a throttling answer with Retry-After: 1
)

// Fault is one scripted misbehaviour. It applies to the next Count (default
// 1) requests whose path contains Path and whose method is Method (empty =
// any); faults are consumed in the order injected.
type Fault struct {
	Kind   FaultKind
	Count  int
	Path   string
	Method string
	Delay  time.Duration
}

func (f *Fault) matches(r *http.Request) bool {
	return (f.Path == "" || strings.Contains(r.URL.RequestURI(), f.Path)) && (f.Method == "" || strings.EqualFold(f.Method, r.Method))
}

// InjectFault schedules a fault on this environment's Web API.
func (e *Env) InjectFault(f Fault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	e.bmu.Lock()
	e.faults = append(e.faults, f)
	e.bmu.Unlock()
}

// ClearFaults drops every pending fault.
func (e *Env) ClearFaults() {
	e.bmu.Lock()
	e.faults = nil
	e.bmu.Unlock()
}

func takeFault(list *[]Fault, r *http.Request) *Fault {
	for i := range *list {
		f := &(*list)[i]
		if f.matches(r) {
			out := *f
			f.Count--
			if f.Count <= 0 {
				*list = append((*list)[:i], (*list)[i+1:]...)
			}
			return &out
		}
	}
	return nil
}

func (e *Env) nextFault(r *http.Request) *Fault {
	e.bmu.Lock()
	defer e.bmu.Unlock()
	return takeFault(&e.faults, r)
}

// InjectTokenFault schedules a fault on the token and managed identity
// endpoints (an Entra outage): Fault500/Fault503/FaultReset/FaultSlow.
func (s *Server) InjectTokenFault(f Fault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	s.mu.Lock()
	s.tokenFaults = append(s.tokenFaults, f)
	s.mu.Unlock()
}

func (s *Server) tokenFault(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	f := takeFault(&s.tokenFaults, r)
	s.mu.Unlock()
	if f == nil {
		return false
	}
	switch f.Kind {
	case FaultSlow:
		time.Sleep(f.Delay)
		return false
	case FaultReset:
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return true
			}
		}
	}
	entraError(w, 503, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")
	return true
}

// before applies faults that replace the response; true means handled.
func (f *Fault) before(w http.ResponseWriter) bool {
	switch f.Kind {
	case Fault500:
		writeDVError(w, errf(500, "0x80040216", "An unexpected error occurred."))
		return true
	case Fault503:
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(503)
		fmt.Fprint(w, "Service Unavailable")
		return true
	case Fault429:
		w.Header().Set("Retry-After", "1")
		writeDVError(w, errf(429, "0x80072322", "Number of requests exceeded the limit of 6000 over time window of 300 seconds."))
		return true
	case FaultSlow:
		time.Sleep(f.Delay)
	}
	return false
}

// after applies faults that damage a computed response; true means handled.
func (f *Fault) after(w http.ResponseWriter, buf *bufferedResponse) bool {
	body := buf.bytes()
	switch f.Kind {
	case FaultTruncate:
		w.Header().Del("Content-Length")
		w.WriteHeader(buf.status)
		w.Write(body[:len(body)/2])
		return true
	case FaultReset:
		hj, ok := w.(http.Hijacker)
		if !ok {
			return false
		}
		c, bw, err := hj.Hijack()
		if err != nil {
			return false
		}
		fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", buf.status, http.StatusText(buf.status))
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Write(bw)
		bw.WriteString("\r\n")
		bw.Write(body[:len(body)/2])
		bw.Flush()
		c.Close()
		return true
	}
	return false
}

// behaviour switches -------------------------------------------------------

// SetLatency overrides Options.Latency for this environment.
func (e *Env) SetLatency(d time.Duration) { e.bmu.Lock(); e.latency = &d; e.bmu.Unlock() }

// SetServerTime overrides Options.RequestTime/RecordTime for this environment.
func (e *Env) SetServerTime(perRequest, perRecord time.Duration) {
	e.bmu.Lock()
	e.reqTime, e.recTime = &perRequest, &perRecord
	e.bmu.Unlock()
}

// SetChangeTrackingExpiry overrides Options.ChangeTrackingExpiry.
func (e *Env) SetChangeTrackingExpiry(d time.Duration) { e.bmu.Lock(); e.ctExp = &d; e.bmu.Unlock() }

// SetLimits replaces the service protection limits (and forgets usage).
func (e *Env) SetLimits(l Limits) { e.limiter.set(l) }

func deref(p *time.Duration, def time.Duration) time.Duration {
	if p != nil {
		return *p
	}
	return def
}

func (e *Env) latencyNow() time.Duration {
	e.bmu.Lock()
	defer e.bmu.Unlock()
	return deref(e.latency, e.s.opts.Latency)
}

func (e *Env) requestTime() time.Duration {
	e.bmu.Lock()
	defer e.bmu.Unlock()
	return deref(e.reqTime, e.s.opts.RequestTime)
}

func (e *Env) recordTime() time.Duration {
	e.bmu.Lock()
	defer e.bmu.Unlock()
	return deref(e.recTime, e.s.opts.RecordTime)
}

func (e *Env) ctExpiry() time.Duration {
	e.bmu.Lock()
	defer e.bmu.Unlock()
	return deref(e.ctExp, e.s.opts.ChangeTrackingExpiry)
}
