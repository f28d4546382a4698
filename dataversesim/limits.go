package dataversesim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits are the service protection limits (reference 6): per user, per
// environment ("web server"), over a sliding window. Zero value: off.
type Limits struct {
	Enabled bool
	// Scale > 1 shrinks the window and both budgets by that factor
	// (300 s/6000 requests/1,200,000 ms at 1; 30 s/600/120,000 ms at 10), so
	// benchmarks meet the limits in seconds. Concurrency is not scaled.
	Scale float64
	// Overrides (zero = documented value / Scale).
	Window        time.Duration
	MaxRequests   int
	MaxExecution  time.Duration
	MaxConcurrent int
}

// DefaultLimits are the documented limits.
func DefaultLimits() Limits { return Limits{Enabled: true, Scale: 1} }

// ParseLimits reads the -limits flag: "default", "off" or a SCALE number.
func ParseLimits(s string) (Limits, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "default":
		return DefaultLimits(), nil
	case "off", "none":
		return Limits{}, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return Limits{}, fmt.Errorf("limits %q: want default, off or a positive scale", s)
	}
	return Limits{Enabled: true, Scale: f}, nil
}

func (l Limits) resolved() Limits {
	if l.Scale <= 0 {
		l.Scale = 1
	}
	if l.Window == 0 {
		l.Window = time.Duration(float64(300*time.Second) / l.Scale)
	}
	if l.MaxRequests == 0 {
		l.MaxRequests = int(math.Max(1, math.Round(6000/l.Scale)))
	}
	if l.MaxExecution == 0 {
		l.MaxExecution = time.Duration(float64(1200*time.Second) / l.Scale)
	}
	if l.MaxConcurrent == 0 {
		l.MaxConcurrent = 52
	}
	return l
}

type execEvent struct {
	t time.Time
	d time.Duration
}

type userWindow struct {
	reqs       []time.Time
	execs      []execEvent
	execSum    time.Duration
	concurrent int
}

type limiter struct {
	mu    sync.Mutex
	cfg   Limits
	users map[string]*userWindow
}

func newLimiter(l Limits) *limiter {
	return &limiter{cfg: l.resolved(), users: map[string]*userWindow{}}
}

func (l *limiter) set(cfg Limits) {
	l.mu.Lock()
	l.cfg = cfg.resolved()
	l.users = map[string]*userWindow{}
	l.mu.Unlock()
}

type limitError struct {
	retryAfter int
	dv         *dvError
}

func (u *userWindow) prune(now time.Time, window time.Duration) {
	cut := now.Add(-window)
	i := 0
	for i < len(u.reqs) && !u.reqs[i].After(cut) {
		i++
	}
	u.reqs = u.reqs[i:]
	j := 0
	for j < len(u.execs) && !u.execs[j].t.After(cut) {
		u.execSum -= u.execs[j].d
		j++
	}
	u.execs = u.execs[j:]
}

func ceilSeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}

// admit decides whether a request may run. Requests and execution time trip
// once exceeded; concurrency trips at once. A rejected request still counts
// as a request, so a client that ignores Retry-After keeps being throttled
// (the reference: "Retry-After grows if the client keeps sending").
// release records the execution time and returns the remaining budgets.
func (l *limiter) admit(user string, now time.Time) (release func(time.Duration) (int, float64), lerr *limitError) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cfg := l.cfg
	if !cfg.Enabled {
		return func(time.Duration) (int, float64) { return cfg.MaxRequests, cfg.MaxExecution.Seconds() }, nil
	}
	u := l.users[user]
	if u == nil {
		u = &userWindow{}
		l.users[user] = u
	}
	u.prune(now, cfg.Window)
	secs := int(cfg.Window.Seconds())
	if u.concurrent >= cfg.MaxConcurrent {
		return nil, &limitError{1, errf(429, "0x80072326", "Number of concurrent requests exceeded the limit of %d.", cfg.MaxConcurrent)}
	}
	if len(u.reqs) >= cfg.MaxRequests {
		u.reqs = append(u.reqs, now)
		oldest := u.reqs[len(u.reqs)-cfg.MaxRequests]
		return nil, &limitError{ceilSeconds(oldest.Add(cfg.Window).Sub(now)), errf(429, "0x80072322", "Number of requests exceeded the limit of %d over time window of %d seconds.", cfg.MaxRequests, secs)}
	}
	if u.execSum >= cfg.MaxExecution {
		sum := u.execSum
		wait := time.Second
		for _, ev := range u.execs {
			sum -= ev.d
			if sum < cfg.MaxExecution {
				wait = ev.t.Add(cfg.Window).Sub(now)
				break
			}
		}
		return nil, &limitError{ceilSeconds(wait), errf(429, "0x80072321", "Combined execution time of incoming requests exceeded limit of %s milliseconds over time window of %d seconds.", groupThousands(cfg.MaxExecution.Milliseconds()), secs)}
	}
	u.reqs = append(u.reqs, now)
	u.concurrent++
	return func(d time.Duration) (int, float64) {
		l.mu.Lock()
		defer l.mu.Unlock()
		u.concurrent--
		u.execs = append(u.execs, execEvent{now, d})
		u.execSum += d
		return cfg.MaxRequests - len(u.reqs), (cfg.MaxExecution - u.execSum).Seconds()
	}, nil
}

func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
