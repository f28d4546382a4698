package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
)

// harness is what the conformance suite needs from one implementation: a
// fresh Sender whose queues are empty, and a way to read back what arrived.
type harness struct {
	sender Sender
	// receive removes and returns the messages visible on queue, polling until
	// at least want have arrived or wait has passed (want 0: poll for all of
	// wait, to prove nothing arrives).
	receive func(t *testing.T, queue string, want int, wait time.Duration) []Message
	// hidesDelayed is true when a delayed message is really invisible until
	// its delay has passed; false when the implementation only records Delay.
	hidesDelayed bool
}

// runConformance is the suite every Sender that can run here passes.
func runConformance(t *testing.T, newHarness func(t *testing.T) harness) {
	ctx := context.Background()

	t.Run("IDsAndBodiesArrive", func(t *testing.T) {
		h := newHarness(t)
		sent := []Message{
			{ID: "run-1", Body: []byte(`{"run":"1","tables":["account","contact"]}`)},
			{ID: "run-2", Body: []byte(`{"run":"2","note":"ünïcödé <&> \"quoted\""}`)},
			{ID: strings.Repeat("x", MaxIDLength), Body: []byte(`[1,2,3]`)},
		}
		if err := h.sender.Send(ctx, QueueScan, sent...); err != nil {
			t.Fatal(err)
		}
		got := h.receive(t, QueueScan, len(sent), 10*time.Second)
		assertSameMessages(t, got, sent)
		if other := h.receive(t, QueueExtract, 0, 200*time.Millisecond); len(other) != 0 {
			t.Fatalf("messages sent to %q arrived on %q: %v", QueueScan, QueueExtract, ids(other))
		}
	})

	t.Run("EachQueueGetsItsOwn", func(t *testing.T) {
		h := newHarness(t)
		for _, q := range Queues() {
			if err := h.sender.Send(ctx, q, Message{ID: "for-" + q, Body: []byte(`{}`)}); err != nil {
				t.Fatalf("send to %q: %v", q, err)
			}
		}
		for _, q := range Queues() {
			got := h.receive(t, q, 1, 10*time.Second)
			if len(got) != 1 || got[0].ID != "for-"+q {
				t.Errorf("queue %q received %v, want [for-%s]", q, ids(got), q)
			}
		}
	})

	t.Run("UnknownQueueRejected", func(t *testing.T) {
		h := newHarness(t)
		for _, q := range []string{"nope", "", PoisonQueue(QueueScan), strings.ToUpper(QueueScan)} {
			err := h.sender.Send(ctx, q, Message{ID: "a", Body: []byte(`{}`)})
			if !errors.Is(err, ErrUnknownQueue) {
				t.Errorf("Send to %q: err = %v, want ErrUnknownQueue", q, err)
			}
		}
	})

	t.Run("InvalidMessageRejectedAndNothingSent", func(t *testing.T) {
		h := newHarness(t)
		valid := Message{ID: "ok", Body: []byte(`{"ok":true}`)}
		for name, bad := range map[string]Message{
			"empty body":    {ID: "empty"},
			"not JSON":      {ID: "text", Body: []byte(`hello`)},
			"truncated":     {ID: "trunc", Body: []byte(`{"a":`)},
			"id too long":   {ID: strings.Repeat("y", MaxIDLength+1), Body: []byte(`{}`)},
			"negative wait": {ID: "neg", Body: []byte(`{}`), Delay: -time.Second},
		} {
			err := h.sender.Send(ctx, QueueExtract, valid, bad)
			if !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("%s: err = %v, want ErrInvalidMessage", name, err)
			}
		}
		if got := h.receive(t, QueueExtract, 0, 300*time.Millisecond); len(got) != 0 {
			t.Fatalf("a rejected batch was partly sent: %v", ids(got))
		}
	})

	t.Run("DelayHonoured", func(t *testing.T) {
		h := newHarness(t)
		const delay = 2 * time.Second
		start := time.Now()
		if err := h.sender.Send(ctx, QueueFiles,
			Message{ID: "later", Body: []byte(`{"n":1}`), Delay: delay},
			Message{ID: "now", Body: []byte(`{"n":2}`)},
		); err != nil {
			t.Fatal(err)
		}
		if !h.hidesDelayed {
			got := h.receive(t, QueueFiles, 2, time.Second)
			delays := map[string]time.Duration{}
			for _, m := range got {
				delays[m.ID] = m.Delay
			}
			if len(got) != 2 || delays["later"] != delay || delays["now"] != 0 {
				t.Fatalf("recorded %+v, want later with %v and now with 0", delays, delay)
			}
			return
		}
		first := h.receive(t, QueueFiles, 1, time.Second)
		if len(first) != 1 || first[0].ID != "now" {
			t.Fatalf("right after sending got %v, want only [now]", ids(first))
		}
		if early := time.Since(start); early < delay-200*time.Millisecond {
			if got := h.receive(t, QueueFiles, 0, delay-200*time.Millisecond-early); len(got) != 0 {
				t.Fatalf("delayed message visible after %v, before its %v delay", time.Since(start), delay)
			}
		}
		later := h.receive(t, QueueFiles, 1, delay+5*time.Second)
		if len(later) != 1 || later[0].ID != "later" {
			t.Fatalf("after the delay got %v, want [later]", ids(later))
		}
		if took := time.Since(start); took < delay-200*time.Millisecond {
			t.Fatalf("delayed message arrived after %v, delay was %v", took, delay)
		}
	})

	t.Run("BatchOf300AllArrive", func(t *testing.T) {
		h := newHarness(t)
		var sent []Message
		for i := range 300 {
			sent = append(sent, Message{ID: fmt.Sprintf("run-7/account/page-%03d", i), Body: fmt.Appendf(nil, `{"page":%d}`, i)})
		}
		if err := h.sender.Send(ctx, QueueExtract, sent...); err != nil {
			t.Fatal(err)
		}
		got := h.receive(t, QueueExtract, len(sent), 20*time.Second)
		assertSameMessages(t, got, sent)
	})

	t.Run("ConcurrentSends", func(t *testing.T) {
		h := newHarness(t)
		var wg sync.WaitGroup
		var want []Message
		errs := make(chan error, 8)
		for g := range 8 {
			var batch []Message
			for i := range 5 {
				batch = append(batch, Message{ID: fmt.Sprintf("g%d-%d", g, i), Body: fmt.Appendf(nil, `{"g":%d,"i":%d}`, g, i)})
			}
			want = append(want, batch...)
			wg.Go(func() { errs <- h.sender.Send(ctx, QueueRestore, batch...) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		assertSameMessages(t, h.receive(t, QueueRestore, len(want), 10*time.Second), want)
	})

	t.Run("EmptySendIsNoop", func(t *testing.T) {
		h := newHarness(t)
		if err := h.sender.Send(ctx, QueueScan); err != nil {
			t.Fatalf("Send with no messages: %v", err)
		}
	})

	t.Run("SendAfterCloseFails", func(t *testing.T) {
		h := newHarness(t)
		if err := h.sender.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := h.sender.Send(ctx, QueueScan, Message{ID: "late", Body: []byte(`{}`)}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Send after Close: err = %v, want ErrClosed", err)
		}
	})
}

func TestConformanceMemory(t *testing.T) {
	runConformance(t, func(t *testing.T) harness {
		s := NewMemorySender()
		return harness{
			sender: s,
			receive: func(t *testing.T, queue string, want int, wait time.Duration) []Message {
				return s.Take(queue)
			},
		}
	})
}

func TestConformanceStorageQueue(t *testing.T) {
	az := azurite.Shared(t)
	svc := queueService(t, az)
	runConformance(t, func(t *testing.T) harness {
		s, err := NewStorageQueueSenderFromConnectionString(az.ConnectionString(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.EnsureQueues(context.Background()); err != nil {
			t.Fatal(err)
		}
		clearQueues(t, svc)
		t.Cleanup(func() { _ = s.Close(context.Background()) })
		return harness{
			sender: s,
			receive: func(t *testing.T, queue string, want int, wait time.Duration) []Message {
				return dequeue(t, svc, queue, want, wait)
			},
			hidesDelayed: true,
		}
	})
}

// --- helpers shared by the tests of this package ---

// One Azurite for the whole package run; tests using it do not run in
// parallel.
func TestMain(m *testing.M) { os.Exit(azurite.RunShared(m)) }

func queueService(t *testing.T, az *azurite.Azurite) *azqueue.ServiceClient {
	t.Helper()
	svc, err := azqueue.NewServiceClientFromConnectionString(az.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func clearQueues(t *testing.T, svc *azqueue.ServiceClient) {
	t.Helper()
	for _, q := range Queues() {
		for _, name := range []string{q, PoisonQueue(q)} {
			if _, err := svc.NewQueueClient(name).ClearMessages(context.Background(), nil); err != nil {
				t.Fatalf("clear %q: %v", name, err)
			}
		}
	}
}

// dequeue reads messages back with the real azqueue client, the way the dev
// host does, and unwraps the envelope. Received messages stay invisible for
// five minutes, longer than any test, so each is returned once.
func dequeue(t *testing.T, svc *azqueue.ServiceClient, queue string, want int, wait time.Duration) []Message {
	t.Helper()
	ctx := context.Background()
	q := svc.NewQueueClient(queue)
	var got []Message
	deadline := time.Now().Add(wait)
	n, vis := int32(32), int32(300)
	for {
		resp, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &n, VisibilityTimeout: &vis})
		if err != nil {
			t.Fatalf("dequeue %q: %v", queue, err)
		}
		for _, dm := range resp.Messages {
			env, ok := UnwrapEnvelope([]byte(*dm.MessageText))
			if !ok {
				t.Fatalf("message on %q is not an envelope: %.200s", queue, *dm.MessageText)
			}
			if env.ContentType != "application/json" {
				t.Errorf("message %q content type %q", env.MessageID, env.ContentType)
			}
			got = append(got, Message{ID: env.MessageID, Body: env.Body})
		}
		if len(resp.Messages) > 0 {
			continue // drain what is visible before deciding
		}
		if (want > 0 && len(got) >= want) || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ids(msgs []Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// assertSameMessages checks got holds exactly want (any order, no duplicates),
// comparing bodies as JSON: the envelope re-encodes them compactly.
func assertSameMessages(t *testing.T, got, want []Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d (first ids: %v)", len(got), len(want), firstIDs(got))
	}
	byID := map[string][]byte{}
	for _, m := range got {
		if _, dup := byID[m.ID]; dup {
			t.Fatalf("message %q received twice", m.ID)
		}
		byID[m.ID] = m.Body
	}
	for _, m := range want {
		body, ok := byID[m.ID]
		if !ok {
			t.Fatalf("message %q missing", m.ID)
		}
		if !jsonEqual(t, body, m.Body) {
			t.Fatalf("message %q body %s, want %s", m.ID, body, m.Body)
		}
	}
}

func firstIDs(msgs []Message) []string { return ids(msgs[:min(len(msgs), 5)]) }

// jsonEqual compares JSON values, not bytes: WrapEnvelope (json.Marshal of a
// RawMessage) compacts the body and escapes <, > and & as \u003c etc.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("not JSON: %s", a)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return reflect.DeepEqual(va, vb)
}
