package dataversesim

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestLimitsScaledRequests(t *testing.T) {
	_, e := small(t)
	// SCALE 100: 3 s window, 60 requests.
	e.SetLimits(Limits{Enabled: true, Scale: 100})
	for i := 0; i < 60; i++ {
		want(t, call(t, e, "GET", "WhoAmI()", nil), 200)
	}
	r := call(t, e, "GET", "WhoAmI()", nil)
	if r.status != 429 || r.errCode() != "0x80072322" || r.errMsg() != "Number of requests exceeded the limit of 60 over time window of 3 seconds." {
		t.Fatalf("61st request: %d %s", r.status, r.raw)
	}
	ra, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 3 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// Another identity has its own budget.
	other := e.s.SecretClients()[1].ClientID
	tok, _ := e.Token(other)
	want(t, call(t, e, "GET", "WhoAmI()", nil, "Authorization", "Bearer "+tok), 200)
	time.Sleep(time.Duration(ra)*time.Second + 100*time.Millisecond)
	want(t, call(t, e, "GET", "WhoAmI()", nil), 200)
}

func TestLimitsExecutionTime(t *testing.T) {
	_, e := small(t)
	e.SetLimits(Limits{Enabled: true, Window: 2 * time.Second, MaxExecution: 100 * time.Millisecond})
	e.SetServerTime(0, 2*time.Millisecond)                   // 2 ms per returned record
	want(t, call(t, e, "GET", "accounts?$top=60", nil), 200) // about 120 ms: now over budget
	r := call(t, e, "GET", "WhoAmI()", nil)
	if r.status != 429 || r.errCode() != "0x80072321" || r.header.Get("Retry-After") == "" {
		t.Fatalf("execution time: %d %s", r.status, r.raw)
	}
	ra, _ := strconv.Atoi(r.header.Get("Retry-After"))
	time.Sleep(time.Duration(ra)*time.Second + 100*time.Millisecond)
	want(t, call(t, e, "GET", "WhoAmI()", nil), 200)
}

func TestLimitsConcurrency(t *testing.T) {
	_, e := small(t)
	e.SetLimits(Limits{Enabled: true, MaxConcurrent: 2})
	e.SetServerTime(300*time.Millisecond, 0)
	var wg sync.WaitGroup
	codes := make(chan string, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := call(t, e, "GET", "WhoAmI()", nil)
			codes <- strconv.Itoa(r.status) + r.errCode()
		}()
	}
	wg.Wait()
	close(codes)
	throttled := 0
	for c := range codes {
		if c == "4290x80072326" {
			throttled++
		}
	}
	if throttled == 0 {
		t.Fatal("no concurrency throttling with 4 parallel requests and a limit of 2")
	}
}

func TestParseLimits(t *testing.T) {
	l, err := ParseLimits("10")
	if err != nil || !l.Enabled || l.resolved().Window != 30*time.Second || l.resolved().MaxRequests != 600 || l.resolved().MaxExecution != 120*time.Second {
		t.Fatalf("scale 10: %+v %v", l.resolved(), err)
	}
	if l, _ := ParseLimits("off"); l.Enabled {
		t.Fatal("off")
	}
	if l, _ := ParseLimits("default"); l.resolved().MaxRequests != 6000 || l.resolved().MaxConcurrent != 52 {
		t.Fatal("default")
	}
	if _, err := ParseLimits("x"); err == nil {
		t.Fatal("bad value accepted")
	}
}
