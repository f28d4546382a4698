package retry

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

var errFlaky = errors.New("flaky")

// recorder is a Sleep that records the waits instead of spending them.
type recorder struct{ waits []time.Duration }

func (r *recorder) sleep(ctx context.Context, d time.Duration) error {
	r.waits = append(r.waits, d)
	return ctx.Err()
}

func TestDoRetriesUntilSuccess(t *testing.T) {
	var rec recorder
	calls := 0
	st, err := Do(context.Background(), Policy{Attempts: 5, Sleep: rec.sleep}, func() error {
		if calls++; calls < 3 {
			return errFlaky
		}
		return nil
	})
	if err != nil || st.Attempts != 3 || calls != 3 || len(rec.waits) != 2 {
		t.Fatalf("Do = %+v, %v after %d calls, waits %v; want success on the third call after two waits", st, err, calls, rec.waits)
	}
}

func TestDoStopsOnFinalFailureAndAfterAttempts(t *testing.T) {
	final := errors.New("final")
	var rec recorder
	p := Policy{Attempts: 4, Sleep: rec.sleep, Decide: func(err error) Decision { return Decision{Retry: err == errFlaky} }}
	st, err := Do(context.Background(), p, func() error { return final })
	if err != final || st.Attempts != 1 || len(rec.waits) != 0 {
		t.Errorf("final failure: %+v %v, waits %v; want one attempt, no wait", st, err, rec.waits)
	}
	st, err = Do(context.Background(), p, func() error { return errFlaky })
	if err != errFlaky || st.Attempts != 4 || len(rec.waits) != 3 {
		t.Errorf("retryable failure: %+v %v, waits %v; want 4 attempts and 3 waits", st, err, rec.waits)
	}
}

// The waits are full jitter: each below its doubling ceiling, capped.
func TestBackoffIsFullJitterUnderCeiling(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Cap: 800 * time.Millisecond}
	for n := 1; n <= 8; n++ {
		ceiling := min(p.Base<<(n-1), p.Cap)
		var maxSeen time.Duration
		for range 200 {
			d := Backoff(p, n)
			if d < 0 || d >= ceiling {
				t.Fatalf("Backoff(n=%d) = %s, want [0, %s)", n, d, ceiling)
			}
			maxSeen = max(maxSeen, d)
		}
		// 200 uniform draws all in the lower half has probability 2^-200.
		if maxSeen < ceiling/2 {
			t.Errorf("Backoff(n=%d): largest of 200 draws %s, want some above %s (jitter over the whole range)", n, maxSeen, ceiling/2)
		}
	}
}

func TestDoHonoursRetryAfterAndCountsThrottles(t *testing.T) {
	var rec recorder
	throttled := func(error) Decision { return Decision{Retry: true, After: 7 * time.Second, Throttled: true} }
	calls := 0
	st, err := Do(context.Background(), Policy{Attempts: 5, Sleep: rec.sleep, Decide: throttled}, func() error {
		if calls++; calls <= 2 {
			return errFlaky
		}
		return nil
	})
	if err != nil || st.Throttled != 2 || st.Waited != 14*time.Second || len(rec.waits) != 2 || rec.waits[0] != 7*time.Second {
		t.Errorf("Do = %+v %v, waits %v; want 2 throttles waited 7 s each", st, err, rec.waits)
	}

	// A Retry-After above MaxAfter is not slept: the caller re-queues.
	rec.waits = nil
	st, err = Do(context.Background(), Policy{Attempts: 5, MaxAfter: time.Second, Sleep: rec.sleep, Decide: throttled}, func() error { return errFlaky })
	if err != errFlaky || st.Attempts != 1 || st.Throttled != 1 || len(rec.waits) != 0 {
		t.Errorf("long Retry-After: %+v %v, waits %v; want the failure at once, counted", st, err, rec.waits)
	}
	st, _ = Do(context.Background(), Policy{Attempts: 5, MaxAfter: -1, Sleep: rec.sleep, Decide: throttled}, func() error { return errFlaky })
	if st.Attempts != 1 || len(rec.waits) != 0 {
		t.Errorf("MaxAfter < 0: %+v, waits %v; want no server-requested wait slept", st, rec.waits)
	}
}

func TestDoChecksContextEveryAttempt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	if _, err := Do(ctx, Policy{}, func() error { called = true; return nil }); !errors.Is(err, context.Canceled) || called {
		t.Errorf("ended context: err %v, called %v; want context.Canceled without a call", err, called)
	}

	// The context ends during a wait: Do stops and says what failed last.
	ctx, cancel = context.WithCancel(context.Background())
	calls := 0
	_, err := Do(ctx, Policy{Attempts: 10, Base: time.Hour, Cap: time.Hour}, func() error {
		calls++
		cancel()
		return errFlaky
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "flaky") || calls != 1 {
		t.Errorf("cancelled during a wait: %v after %d calls; want context.Canceled naming the last failure after 1 call", err, calls)
	}
}
