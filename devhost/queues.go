package devhost

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
)

func (h *Host) ensureQueue(ctx context.Context, queue string) error {
	for _, q := range []string{queue, messaging.PoisonQueue(queue)} {
		_, err := h.queues.CreateQueue(ctx, q, nil)
		var re *azcore.ResponseError
		if err != nil && !(errors.As(err, &re) && re.ErrorCode == "QueueAlreadyExists") {
			return errors.New("devhost: create queue " + q + ": " + firstLine(err))
		}
	}
	return nil
}

// pollQueue feeds one queue-triggered function until ctx ends.
func (h *Host) pollQueue(ctx context.Context, f Function, trig Binding, queue string) {
	log := h.log.With("function", f.Name, "queue", queue)
	qc := h.queues.NewQueueClient(queue)
	slots := make(chan struct{}, h.opts.Concurrency)
	idle := 50 * time.Millisecond
	wait := idle
	for ctx.Err() == nil {
		free := cap(slots) - len(slots)
		if free == 0 {
			sleep(ctx, 20*time.Millisecond)
			continue
		}
		n := int32(min(free, 32))
		vis := int32(h.opts.LockDuration / time.Second)
		resp, err := qc.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &n, VisibilityTimeout: &vis})
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("dequeue failed", "error", firstLine(err))
				sleep(ctx, h.opts.MaxPollInterval)
			}
			continue
		}
		if len(resp.Messages) == 0 {
			sleep(ctx, wait)
			wait = min(wait*2, h.opts.MaxPollInterval)
			continue
		}
		wait = idle
		for _, m := range resp.Messages {
			slots <- struct{}{}
			h.wg.Add(1)
			go func(m *azqueue.DequeuedMessage) {
				defer func() { <-slots; h.wg.Done() }()
				h.deliver(ctx, log, qc, f, trig, queue, m)
			}(m)
		}
	}
	// Wait for in-flight deliveries before returning.
	for i := 0; i < cap(slots); i++ {
		slots <- struct{}{}
	}
}

// deliver invokes the function with one message and settles it: delete on
// success, make visible again after RetryDelay on failure, poison once the
// delivery count is spent.
func (h *Host) deliver(ctx context.Context, log interface {
	Info(string, ...any)
	Warn(string, ...any)
	Error(string, ...any)
}, qc *azqueue.QueueClient, f Function, trig Binding, queue string, m *azqueue.DequeuedMessage) {
	id, pop := deref(m.MessageID), deref(m.PopReceipt)
	text := []byte(deref(m.MessageText))
	count := int64(0)
	if m.DequeueCount != nil {
		count = *m.DequeueCount
	}
	// A message seen more often than allowed (the handler crashed while it was
	// locked) goes straight to poison, as Service Bus dead-letters it.
	if count > int64(h.opts.MaxDeliveryCount) {
		h.poison(ctx, log, qc, queue, id, pop, text, count, "delivery count exceeded before invocation")
		return
	}
	var payload []byte
	var err error
	msgID := id
	switch trig.Type {
	case "serviceBusTrigger":
		d := ServiceBusDelivery{Body: text, MessageID: id, DeliveryCount: int(count), SequenceNumber: h.seq.Add(1)}
		if m.InsertionTime != nil {
			d.EnqueuedTime = *m.InsertionTime
		}
		if env, ok := messaging.UnwrapEnvelope(text); ok {
			d.Body, d.MessageID, d.ContentType = env.Body, env.MessageID, env.ContentType
			msgID = env.MessageID
		}
		payload, err = ServiceBusInvocation(f.Name, trig.Name, d)
	default:
		d := QueueDelivery{Body: text, ID: id, PopReceipt: pop, DequeueCount: count}
		if m.InsertionTime != nil {
			d.InsertionTime = *m.InsertionTime
		}
		if m.ExpirationTime != nil {
			d.ExpirationTime = *m.ExpirationTime
		}
		if m.TimeNextVisible != nil {
			d.NextVisibleTime = *m.TimeNextVisible
		}
		payload, err = QueueInvocation(f.Name, trig.Name, d)
	}
	if err == nil {
		lock := h.holdLock(ctx, log, qc, id, pop, text)
		err = h.invoke(ctx, f.Name, payload)
		pop = lock.release()
	}
	if err == nil {
		if _, derr := qc.DeleteMessage(context.WithoutCancel(ctx), id, pop, nil); derr != nil {
			log.Warn("delete after success failed; the message will be redelivered", "messageId", msgID, "error", firstLine(derr))
		}
		return
	}
	if ctx.Err() != nil {
		return // shutting down: the lock expires and the message comes back
	}
	log.Warn("invocation failed", "messageId", msgID, "deliveryCount", count, "error", err.Error())
	if count >= int64(h.opts.MaxDeliveryCount) {
		h.poison(ctx, log, qc, queue, id, pop, text, count, err.Error())
		return
	}
	vis := int32(h.opts.RetryDelay / time.Second)
	if _, uerr := qc.UpdateMessage(ctx, id, pop, string(text), &azqueue.UpdateMessageOptions{VisibilityTimeout: &vis}); uerr != nil {
		log.Warn("abandon failed; the message returns when its lock expires", "messageId", msgID, "error", firstLine(uerr))
	}
}

func (h *Host) poison(ctx context.Context, log interface{ Error(string, ...any) }, qc *azqueue.QueueClient, queue, id, pop string, text []byte, count int64, reason string) {
	pq := h.queues.NewQueueClient(messaging.PoisonQueue(queue))
	ttl := int32(-1)
	if _, err := pq.EnqueueMessage(ctx, string(text), &azqueue.EnqueueMessageOptions{TimeToLive: &ttl}); err != nil {
		log.Error("move to poison failed; message stays on its queue", "messageId", id, "error", firstLine(err))
		return
	}
	if _, err := qc.DeleteMessage(ctx, id, pop, nil); err != nil {
		log.Error("delete after poisoning failed (message may appear twice in poison)", "messageId", id, "error", firstLine(err))
	}
	h.stats.Poisoned.Add(1)
	log.Error("message moved to poison queue", "messageId", id, "poisonQueue", messaging.PoisonQueue(queue),
		"deliveryCount", count, "reason", reason)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func firstLine(err error) string {
	s := err.Error()
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}

// heldLock renews a message's visibility while its invocation runs. Each
// renewal returns a new pop receipt, which the settle step must then use.
type heldLock struct {
	mu   sync.Mutex
	pop  string
	stop chan struct{}
	done chan struct{}
}

func (h *Host) holdLock(ctx context.Context, log interface{ Warn(string, ...any) }, qc *azqueue.QueueClient, id, pop string, text []byte) *heldLock {
	l := &heldLock{pop: pop, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		every := h.opts.LockDuration / 2
		deadline := time.Now().Add(h.renewFor)
		vis := int32(h.opts.LockDuration / time.Second)
		for {
			select {
			case <-l.stop:
				return
			case <-ctx.Done():
				return
			case <-time.After(every):
			}
			if time.Now().After(deadline) {
				return // like the host: past maxAutoLockRenewalDuration the lock lapses
			}
			l.mu.Lock()
			resp, err := qc.UpdateMessage(ctx, id, l.pop, string(text), &azqueue.UpdateMessageOptions{VisibilityTimeout: &vis})
			if err == nil && resp.PopReceipt != nil {
				l.pop = *resp.PopReceipt
				h.stats.LockRenewals.Add(1)
			}
			l.mu.Unlock()
			if err != nil {
				log.Warn("lock renewal failed; the message may be redelivered while running", "messageId", id, "error", firstLine(err))
				return
			}
		}
	}()
	return l
}

// release stops renewing and returns the current pop receipt.
func (l *heldLock) release() string {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pop
}
