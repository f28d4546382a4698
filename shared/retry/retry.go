package retry

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Decision is what a policy's Decide says of one failure.
type Decision struct {
	// Retry: the operation may succeed if tried again.
	Retry bool
	// After is a wait the server asked for (Retry-After). Zero: the policy's
	// backoff decides.
	After time.Duration
	// Throttled: the failure was a throttle (counted in Stats.Throttled).
	Throttled bool
}

// Policy says which failures are retried and how long to wait between
// attempts. Zero fields take the documented defaults.
type Policy struct {
	// Attempts bounds the calls of the operation, the first included.
	// Default 3.
	Attempts int
	// Base is the backoff ceiling after the first failure; it doubles after
	// each further failure up to Cap. The wait is drawn uniformly from
	// [0, ceiling) ("full jitter"), so callers failing together spread out.
	// Default 200 ms.
	Base time.Duration
	// Cap bounds the backoff ceiling. Default 10 s.
	Cap time.Duration
	// MaxAfter is the longest server-requested wait (Retry-After) slept
	// inside Do. A longer one is not slept: Do returns the failure at once so
	// the caller can re-queue the work with that delay. Zero means 30 s; a
	// negative value never sleeps a server-requested wait.
	MaxAfter time.Duration
	// Decide classifies a failure. Nil retries every error (the context
	// check before each attempt still stops Do once ctx ends).
	Decide func(error) Decision
	// Sleep waits d or until ctx ends. Nil uses a timer. Tests may replace it
	// to observe the waits without spending them.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Stats describes what Do did.
type Stats struct {
	Attempts  int           // calls of the operation
	Throttled int           // failures Decide called throttles
	Waited    time.Duration // total time slept between attempts
}

const (
	defaultAttempts = 3
	defaultBase     = 200 * time.Millisecond
	defaultCap      = 10 * time.Second
	defaultMaxAfter = 30 * time.Second
)

func (p Policy) withDefaults() Policy {
	if p.Attempts <= 0 {
		p.Attempts = defaultAttempts
	}
	if p.Base <= 0 {
		p.Base = defaultBase
	}
	if p.Cap <= 0 {
		p.Cap = defaultCap
	}
	if p.Cap < p.Base {
		p.Cap = p.Base
	}
	if p.MaxAfter == 0 {
		p.MaxAfter = defaultMaxAfter
	}
	if p.Decide == nil {
		p.Decide = func(error) Decision { return Decision{Retry: true} }
	}
	if p.Sleep == nil {
		p.Sleep = Sleep
	}
	return p
}

// Do calls fn until it succeeds, Decide calls its failure final, the
// attempts are spent, a server-requested wait exceeds MaxAfter, or ctx
// ends. It returns fn's last error; when ctx ended first, an error wrapping
// ctx.Err() that names fn's last failure. Do never calls fn on an ended
// context.
func Do(ctx context.Context, p Policy, fn func() error) (Stats, error) {
	p = p.withDefaults()
	var st Stats
	var last error
	for {
		if err := ctx.Err(); err != nil {
			if last == nil {
				return st, err
			}
			return st, fmt.Errorf("%w (last failure: %v)", err, last)
		}
		st.Attempts++
		last = fn()
		if last == nil {
			return st, nil
		}
		d := p.Decide(last)
		if d.Throttled {
			st.Throttled++
		}
		if !d.Retry || st.Attempts >= p.Attempts {
			return st, last
		}
		wait := Backoff(p, st.Attempts)
		if d.After > 0 {
			if p.MaxAfter < 0 || d.After > p.MaxAfter {
				return st, last
			}
			wait = d.After
		}
		if err := p.Sleep(ctx, wait); err != nil {
			return st, fmt.Errorf("%w (last failure: %v)", err, last)
		}
		st.Waited += wait
	}
}

// Backoff is the wait after failure number n (1 for the first): uniform
// in [0, min(Cap, Base·2^(n-1))).
func Backoff(p Policy, n int) time.Duration {
	p = p.withDefaults()
	ceiling := p.Base
	for i := 1; i < n && ceiling < p.Cap; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, p.Cap)
	return time.Duration(rand.Int64N(int64(ceiling)))
}

// Sleep waits d, or returns ctx.Err() as soon as ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
