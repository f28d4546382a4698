package messaging

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// No Service Bus emulator can run on these machines (it needs Docker), so
// these tests cover everything up to the AMQP link: conversion, batching with
// a fake batch that fills like the SDK's, validation, per-queue sender caching
// and constructors (which make no connection).
func TestServiceBusNotExercisedLive(t *testing.T) {
	t.Log("NOT TESTED HERE: sending to a live Service Bus namespace (NewMessageBatch/SendMessageBatch over AMQP, " +
		"duplicate detection, scheduled enqueue); no emulator can run on these machines. Conversion, batch splitting, " +
		"validation, sender caching and constructors are unit-tested with fakes.")
}

func TestToServiceBusMessage(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	m := toServiceBusMessage(Message{ID: "run-1/account/3", Body: []byte(`{"p":3}`), Delay: 90 * time.Second}, now)
	if m.MessageID == nil || *m.MessageID != "run-1/account/3" {
		t.Errorf("MessageID = %v", m.MessageID)
	}
	if string(m.Body) != `{"p":3}` {
		t.Errorf("Body = %s", m.Body)
	}
	if m.ContentType == nil || *m.ContentType != "application/json" {
		t.Errorf("ContentType = %v", m.ContentType)
	}
	want := time.Date(2026, 5, 1, 10, 1, 30, 0, time.UTC)
	if m.ScheduledEnqueueTime == nil || !m.ScheduledEnqueueTime.Equal(want) || m.ScheduledEnqueueTime.Location() != time.UTC {
		t.Errorf("ScheduledEnqueueTime = %v, want %v", m.ScheduledEnqueueTime, want)
	}

	now2 := toServiceBusMessage(Message{Body: []byte(`{}`)}, now)
	if now2.ScheduledEnqueueTime != nil {
		t.Errorf("no delay but ScheduledEnqueueTime = %v", now2.ScheduledEnqueueTime)
	}
	if now2.MessageID != nil {
		t.Errorf("empty id should leave MessageID for the broker to assign, got %q", *now2.MessageID)
	}
}

// fakeBatch fills like azservicebus.MessageBatch: AddMessage returns
// ErrMessageTooLarge once the bodies would exceed limit bytes.
type fakeBatch struct {
	limit int
	bytes int
	msgs  []*azservicebus.Message
}

func (b *fakeBatch) AddMessage(m *azservicebus.Message, _ *azservicebus.AddMessageOptions) error {
	if b.bytes+len(m.Body) > b.limit {
		return azservicebus.ErrMessageTooLarge
	}
	b.bytes += len(m.Body)
	b.msgs = append(b.msgs, m)
	return nil
}

func (b *fakeBatch) NumMessages() int32 { return int32(len(b.msgs)) }

type fakeQueue struct {
	limit       int
	newBatchErr error
	sendErrAt   int // fail the n-th send (1-based); 0 never
	sendErr     error

	mu      sync.Mutex
	sent    [][]*azservicebus.Message
	sends   int
	closed  bool
	batches int
}

func (q *fakeQueue) newBatch(context.Context) (sbBatch, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.newBatchErr != nil {
		return nil, q.newBatchErr
	}
	q.batches++
	return &fakeBatch{limit: q.limit}, nil
}

func (q *fakeQueue) send(_ context.Context, b sbBatch) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sends++
	if q.sends == q.sendErrAt {
		return q.sendErr
	}
	q.sent = append(q.sent, b.(*fakeBatch).msgs)
	return nil
}

func (q *fakeQueue) close(context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	return nil
}

// newFakeServiceBus returns a ServiceBusSender whose queues are fakes with
// the given batch byte limit, and the count of opened queue senders.
func newFakeServiceBus(limit int) (*ServiceBusSender, map[string]*fakeQueue, *atomic.Int32) {
	queues := map[string]*fakeQueue{}
	var mu sync.Mutex
	opened := &atomic.Int32{}
	s := &ServiceBusSender{now: time.Now, senders: map[string]sbQueue{}}
	s.newQueue = func(name string) (sbQueue, error) {
		opened.Add(1)
		mu.Lock()
		defer mu.Unlock()
		q := &fakeQueue{limit: limit}
		queues[name] = q
		return q, nil
	}
	return s, queues, opened
}

func body(n int) []byte { return fmt.Appendf(nil, `"%s"`, strings.Repeat("a", n-2)) }

func TestServiceBusSplitsIntoBatches(t *testing.T) {
	s, queues, _ := newFakeServiceBus(100)
	fixed := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return fixed }
	var msgs []Message
	for i := range 10 {
		m := Message{ID: fmt.Sprintf("m%d", i), Body: body(30)}
		if i == 4 {
			m.Delay = time.Minute
		}
		msgs = append(msgs, m)
	}
	if err := s.Send(context.Background(), QueueExtract, msgs...); err != nil {
		t.Fatal(err)
	}
	q := queues[QueueExtract]
	var sizes []int
	var order []string
	for _, b := range q.sent {
		sizes = append(sizes, len(b))
		for _, m := range b {
			order = append(order, *m.MessageID)
			if want := *m.MessageID == "m4"; (m.ScheduledEnqueueTime != nil) != want {
				t.Errorf("%s: ScheduledEnqueueTime = %v", *m.MessageID, m.ScheduledEnqueueTime)
			}
		}
	}
	if fmt.Sprint(sizes) != "[3 3 3 1]" {
		t.Errorf("batch sizes %v, want [3 3 3 1] (100-byte batches of 30-byte messages)", sizes)
	}
	if fmt.Sprint(order) != fmt.Sprint(ids(msgs)) {
		t.Errorf("order %v, want %v", order, ids(msgs))
	}
	if sched := q.sent[1][1].ScheduledEnqueueTime; sched == nil || !sched.Equal(fixed.Add(time.Minute)) {
		t.Errorf("m4 scheduled at %v, want %v", sched, fixed.Add(time.Minute))
	}
}

func TestServiceBusOneBatchWhenItFits(t *testing.T) {
	s, queues, _ := newFakeServiceBus(1000)
	if err := s.Send(context.Background(), QueueScan, Message{ID: "a", Body: body(10)}, Message{ID: "b", Body: body(10)}); err != nil {
		t.Fatal(err)
	}
	if q := queues[QueueScan]; len(q.sent) != 1 || len(q.sent[0]) != 2 || q.batches != 1 {
		t.Fatalf("sent %d batches (created %d), want one batch of 2", len(q.sent), q.batches)
	}
}

func TestServiceBusMessageLargerThanAnyBatch(t *testing.T) {
	s, queues, _ := newFakeServiceBus(100)
	err := s.Send(context.Background(), QueueFiles,
		Message{ID: "small", Body: body(10)},
		Message{ID: "huge", Body: body(101)},
		Message{ID: "after", Body: body(10)},
	)
	if !errors.Is(err, ErrMessageTooLarge) || !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("err = %v, want ErrMessageTooLarge and ErrInvalidMessage", err)
	}
	if !strings.Contains(err.Error(), `"huge"`) {
		t.Errorf("error does not name the message: %v", err)
	}
	q := queues[QueueFiles]
	if len(q.sent) != 1 || *q.sent[0][0].MessageID != "small" {
		t.Errorf("sent %v, want the batch before the huge message only", q.sent)
	}
}

func TestServiceBusTransportErrors(t *testing.T) {
	boom := errors.New("link detached")

	s, _, _ := newFakeServiceBus(100)
	s.newQueue = func(string) (sbQueue, error) { return &fakeQueue{limit: 100, newBatchErr: boom}, nil }
	if err := s.Send(context.Background(), QueueScan, Message{ID: "a", Body: body(10)}); !errors.Is(err, boom) {
		t.Errorf("NewMessageBatch failure: err = %v, want it wrapped", err)
	}

	s, _, _ = newFakeServiceBus(100)
	fq := &fakeQueue{limit: 100, sendErrAt: 2, sendErr: boom}
	s.newQueue = func(string) (sbQueue, error) { return fq, nil }
	var msgs []Message
	for i := range 7 {
		msgs = append(msgs, Message{ID: fmt.Sprint(i), Body: body(30)})
	}
	err := s.Send(context.Background(), QueueScan, msgs...)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "3 already sent") {
		t.Errorf("second batch failure: err = %v, want wrapped with the count already sent", err)
	}
	if len(fq.sent) != 1 || fq.sends != 2 {
		t.Errorf("after a failed send: %d batches sent, %d attempts; want 1 and 2 (stop at the first failure)", len(fq.sent), fq.sends)
	}

	s, _, _ = newFakeServiceBus(100)
	s.newQueue = func(string) (sbQueue, error) { return nil, boom }
	if err := s.Send(context.Background(), QueueScan, Message{ID: "a", Body: body(10)}); !errors.Is(err, boom) {
		t.Errorf("NewSender failure: err = %v", err)
	}
}

func TestServiceBusValidatesBeforeOpening(t *testing.T) {
	s, _, opened := newFakeServiceBus(100)
	ctx := context.Background()
	for _, tc := range []struct {
		queue string
		msg   Message
		want  error
	}{
		{"nope", Message{ID: "a", Body: []byte(`{}`)}, ErrUnknownQueue},
		{QueueScan, Message{ID: "a"}, ErrInvalidMessage},
		{QueueScan, Message{ID: "a", Body: []byte(`not json`)}, ErrInvalidMessage},
		{QueueScan, Message{ID: strings.Repeat("i", 129), Body: []byte(`{}`)}, ErrInvalidMessage},
	} {
		if err := s.Send(ctx, tc.queue, tc.msg); !errors.Is(err, tc.want) {
			t.Errorf("Send(%q, %+v): err = %v, want %v", tc.queue, tc.msg, err, tc.want)
		}
	}
	if n := opened.Load(); n != 0 {
		t.Errorf("%d queue senders opened for invalid sends, want 0", n)
	}
}

func TestServiceBusOneSenderPerQueueConcurrently(t *testing.T) {
	s, queues, opened := newFakeServiceBus(1 << 20)
	var wg sync.WaitGroup
	for i := range 40 {
		q := Queues()[i%2]
		wg.Go(func() {
			if err := s.Send(context.Background(), q, Message{ID: fmt.Sprint(i), Body: []byte(`{}`)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := opened.Load(); n != 2 {
		t.Errorf("opened %d queue senders for 2 queues", n)
	}
	total := 0
	for _, q := range queues {
		for _, b := range q.sent {
			total += len(b)
		}
	}
	if total != 40 {
		t.Errorf("sent %d messages, want 40", total)
	}

	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, q := range queues {
		if !q.closed {
			t.Errorf("queue sender %q not closed by Close", name)
		}
	}
	if err := s.Send(context.Background(), QueueScan, Message{ID: "x", Body: []byte(`{}`)}); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

type fakeCredential struct{ calls atomic.Int32 }

func (c *fakeCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.calls.Add(1)
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestServiceBusConstructors(t *testing.T) {
	ctx := context.Background()
	cred := &fakeCredential{}
	s, err := NewServiceBusSender("sb-test.servicebus.windows.net", cred, nil)
	if err != nil {
		t.Fatalf("identity constructor: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("Close of an unused sender: %v", err)
	}
	if n := cred.calls.Load(); n != 0 {
		t.Errorf("constructor fetched %d tokens; the connection should be lazy", n)
	}

	for _, ns := range []string{"", "sb://sb-test.servicebus.windows.net", "sb-test.servicebus.windows.net/", "Endpoint=x;y"} {
		if _, err := NewServiceBusSender(ns, cred, nil); !errors.Is(err, ErrNotConfigured) {
			t.Errorf("namespace %q: err = %v, want ErrNotConfigured", ns, err)
		}
	}
	if _, err := NewServiceBusSender("sb-test.servicebus.windows.net", nil, nil); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("nil credential: err = %v", err)
	}

	const key = "U0VDUkVUS0VZVkFMVUU="
	s, err = NewServiceBusSenderFromConnectionString("Endpoint=sb://sb-test.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey="+key, nil)
	if err != nil {
		t.Fatalf("connection-string constructor: %v", err)
	}
	_ = s.Close(ctx)
	for _, bad := range []string{"", "Endpoint=sb://x/;SharedAccessKey=" + key, "garbage " + key} {
		_, err := NewServiceBusSenderFromConnectionString(bad, nil)
		if !errors.Is(err, ErrNotConfigured) {
			t.Errorf("malformed connection string: err = %v, want ErrNotConfigured", err)
		}
		if err != nil && strings.Contains(err.Error(), key) {
			t.Errorf("error leaks the key: %v", err)
		}
	}
}
