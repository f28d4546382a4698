package pump_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/testkit/pump"
)

// recorder is a handler that records its deliveries and fails the ones
// its fail function picks; a body "fan:N" sends N more messages.
type recorder struct {
	mu     sync.Mutex
	got    []string // "queue/id#count"
	sender *messaging.MemorySender
	fail   func(body string, count int) bool
}

func (r *recorder) handle(ctx context.Context, queue string, raw []byte, delivery int) error {
	var body string
	if err := json.Unmarshal(raw, &body); err != nil {
		return err
	}
	r.mu.Lock()
	r.got = append(r.got, fmt.Sprintf("%s/%s#%d", queue, body, delivery))
	r.mu.Unlock()
	if r.fail != nil && r.fail(body, delivery) {
		return errors.New("refused")
	}
	var n int
	if _, err := fmt.Sscanf(body, "fan:%d", &n); err == nil {
		for i := range n {
			if err := r.sender.Send(ctx, messaging.QueueExtract, messaging.Message{ID: fmt.Sprint("c", i), Body: quote(fmt.Sprint("child", i))}); err != nil {
				return err
			}
		}
	}
	return nil
}

// quote is s as a JSON string: message bodies are JSON.
func quote(s string) []byte { b, _ := json.Marshal(s); return b }

// text is the string a JSON body holds.
func text(b []byte) string {
	var s string
	_ = json.Unmarshal(b, &s)
	return s
}

func send(t *testing.T, s *messaging.MemorySender, queue string, delay time.Duration, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if err := s.Send(context.Background(), queue, messaging.Message{ID: b, Body: quote(b), Delay: delay}); err != nil {
			t.Fatal(err)
		}
	}
}

// Messages sent by a handler are delivered too, due ones before delayed
// ones, and messages of queues without a handler stay in the sender.
func TestRunDeliversWhatHandlersSend(t *testing.T) {
	s := messaging.NewMemorySender()
	r := &recorder{sender: s}
	send(t, s, messaging.QueueScan, 30*time.Millisecond, "late")
	send(t, s, messaging.QueueScan, 0, "fan:2")
	send(t, s, messaging.QueueRestore, 0, "not-pumped")
	res, err := pump.Run(context.Background(), s, pump.Handlers{}.On(r.handle, messaging.QueueScan, messaging.QueueExtract), pump.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"scan/fan:2#1", "extract/child0#1", "extract/child1#1", "scan/late#1"}
	if strings.Join(r.got, " ") != strings.Join(want, " ") {
		t.Errorf("deliveries %v, want %v", r.got, want)
	}
	if res.Deliveries != 4 || len(res.Poison) != 0 || len(res.Left) != 0 {
		t.Errorf("result %+v", res)
	}
	if left := s.Sent(messaging.QueueRestore); len(left) != 1 {
		t.Errorf("the restore queue has %d message(s); the pump took a queue it does not serve", len(left))
	}
}

// A failing message comes again with a growing count and becomes poison
// after MaxDeliveries; one that recovers is handled.
func TestRunRetriesThenPoison(t *testing.T) {
	s := messaging.NewMemorySender()
	r := &recorder{sender: s, fail: func(body string, count int) bool { return body == "bad" || (body == "flaky" && count < 3) }}
	send(t, s, messaging.QueueScan, 0, "bad", "flaky")
	res, err := pump.Run(context.Background(), s, pump.Handlers{}.On(r.handle, messaging.QueueScan), pump.Options{MaxDeliveries: 4, RetryDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Poison) != 1 || text(res.Poison[0].Message.Body) != "bad" || res.Poison[0].Count != 4 || res.Poison[0].Err == nil {
		t.Fatalf("poison %+v", res.Poison)
	}
	if res.Deliveries != 4+3 {
		t.Errorf("%d deliveries, want 7 (bad 4 times, flaky 3 times): %v", res.Deliveries, r.got)
	}
}

// Copies delivers each message twice; After stopping the pump leaves the
// message it saw and the undelivered ones in Left.
func TestRunCopiesAndStop(t *testing.T) {
	s := messaging.NewMemorySender()
	r := &recorder{sender: s}
	send(t, s, messaging.QueueExtract, 0, "a", "b", "c")
	res, err := pump.Run(context.Background(), s, pump.Handlers{}.On(r.handle, messaging.QueueExtract), pump.Options{
		Copies: func(string) int { return 2 },
		After:  func(d pump.Delivery) bool { return text(d.Message.Body) == "b" },
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.got, " ") != "extract/a#1 extract/a#1 extract/b#1" {
		t.Errorf("deliveries %v", r.got)
	}
	var left []string
	for _, d := range res.Left {
		left = append(left, text(d.Message.Body))
	}
	if strings.Join(left, " ") != "b b c c" {
		t.Errorf("left %v, want b (stopped on) then b c c", left)
	}
}

// Shuffle delivers every message in a seeded random order: the same seed
// gives the same order, and some delivery overtakes an older one.
func TestRunShuffle(t *testing.T) {
	order := func(seed uint64) ([]string, pump.Result) {
		s := messaging.NewMemorySender()
		r := &recorder{sender: s}
		for i := range 20 {
			send(t, s, messaging.QueueFiles, 0, fmt.Sprint("m", i))
		}
		res, err := pump.Run(context.Background(), s, pump.Handlers{}.On(r.handle, messaging.QueueFiles), pump.Options{Shuffle: rand.New(rand.NewPCG(seed, 1))})
		if err != nil {
			t.Fatal(err)
		}
		return r.got, res
	}
	a, res := order(7)
	b, _ := order(7)
	if len(a) != 20 || strings.Join(a, " ") != strings.Join(b, " ") {
		t.Fatalf("seeded orders differ or lose messages:\n%v\n%v", a, b)
	}
	if res.OutOfOrder == 0 {
		t.Errorf("no delivery overtook an older message: %v", a)
	}
}

// Several workers deliver everything exactly once per copy; Limit ends a
// pump that never drains.
func TestRunWorkersAndLimit(t *testing.T) {
	s := messaging.NewMemorySender()
	r := &recorder{sender: s}
	send(t, s, messaging.QueueScan, 0, "fan:30")
	res, err := pump.Run(context.Background(), s, pump.Handlers{}.On(r.handle, messaging.QueueScan, messaging.QueueExtract), pump.Options{Workers: 4})
	if err != nil || res.Deliveries != 31 {
		t.Fatalf("%d deliveries, err %v", res.Deliveries, err)
	}
	forever := func(ctx context.Context, queue string, body []byte, _ int) error {
		return s.Send(ctx, queue, messaging.Message{ID: "again", Body: body})
	}
	send(t, s, messaging.QueueScan, 0, "loop")
	res, err = pump.Run(context.Background(), s, pump.Handlers{}.On(forever, messaging.QueueScan), pump.Options{Limit: 50})
	if err == nil || res.Deliveries != 50 {
		t.Fatalf("an endless pump: %d deliveries, err %v", res.Deliveries, err)
	}
}
