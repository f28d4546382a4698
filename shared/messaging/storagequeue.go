package messaging

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"
)

// Storage-queue limits, from the service documentation (and enforced the same
// way by Azurite 3.37: UTF-8 bytes of the message text).
const (
	// MaxStorageQueueMessageBytes is the largest message text a Storage queue
	// accepts. The text is the envelope (WrapEnvelope), so the body must be a
	// little smaller.
	MaxStorageQueueMessageBytes = 64 * 1024
	// MaxStorageQueueDelay is the largest visibility timeout on enqueue.
	MaxStorageQueueDelay = 7 * 24 * time.Hour
)

// DefaultStorageQueueConcurrency is how many enqueue requests one Send keeps
// in flight when StorageQueueOptions.Concurrency is zero.
const DefaultStorageQueueConcurrency = 16

// StorageQueueOptions configures a StorageQueueSender. A nil
// *StorageQueueOptions means defaults.
type StorageQueueOptions struct {
	// TimeToLive of each message. Zero means never expire (the service's
	// default would be 7 days): Service Bus keeps messages until the queue's
	// TTL, which we leave unlimited, and a local run paused over a weekend
	// should not lose its work. Must exceed any Delay when set.
	TimeToLive time.Duration
	// Concurrency bounds the enqueue requests one Send keeps in flight
	// (Storage queues have no batch enqueue). Zero means
	// DefaultStorageQueueConcurrency.
	Concurrency int
	// Client is passed to azqueue (retry policy, transport). Nil means the
	// SDK defaults.
	Client *azqueue.ClientOptions
}

// StorageQueueSender sends to Azure Storage queues: the local stand-in for
// Service Bus (Azurite), polled by the dev host. Each message's text is its
// Envelope (WrapEnvelope), which carries the id and content type that Storage
// queues have no field for.
//
// Storage queues cannot de-duplicate: a message sent twice with the same id is
// delivered twice. That is acceptable because handlers are idempotent anyway
// (Service Bus duplicate detection only covers its detection window, and every
// trigger is at-least-once); deterministic ids still let a handler recognise
// work already done.
//
// Messages of one Send are enqueued concurrently, one request each, so their
// order on the queue is not guaranteed (Storage queues do not promise FIFO
// either). A missing queue is created on first use, so sending works against a
// fresh Azurite; EnsureQueues creates all of them up front.
//
// Safe for concurrent use.
type StorageQueueSender struct {
	svc         *azqueue.ServiceClient
	ttl         int32 // seconds, -1 = never
	concurrency int

	mu     sync.Mutex
	closed bool
}

var _ Sender = (*StorageQueueSender)(nil)

// NewStorageQueueSenderFromConnectionString uses a shared-key connection
// string, e.g. Azurite's (see testkit/azurite).
func NewStorageQueueSenderFromConnectionString(connectionString string, opts *StorageQueueOptions) (*StorageQueueSender, error) {
	svc, err := azqueue.NewServiceClientFromConnectionString(connectionString, opts.client())
	if err != nil {
		// Never echo the string: it holds the account key.
		return nil, fmt.Errorf("%w: the storage connection string is malformed (expected AccountName=...;AccountKey=...;QueueEndpoint=...)", ErrNotConfigured)
	}
	return newStorageQueueSender(svc, opts)
}

// NewStorageQueueSender uses a queue service URL such as
// https://<account>.queue.core.windows.net/ and an Entra credential.
func NewStorageQueueSender(serviceURL string, cred azcore.TokenCredential, opts *StorageQueueOptions) (*StorageQueueSender, error) {
	if cred == nil {
		return nil, fmt.Errorf("%w: no credential for queue service %q", ErrNotConfigured, serviceURL)
	}
	svc, err := azqueue.NewServiceClient(serviceURL, cred, opts.client())
	if err != nil {
		return nil, fmt.Errorf("messaging: queue service client for %q: %w", serviceURL, err)
	}
	return newStorageQueueSender(svc, opts)
}

func newStorageQueueSender(svc *azqueue.ServiceClient, opts *StorageQueueOptions) (*StorageQueueSender, error) {
	s := &StorageQueueSender{svc: svc, ttl: -1, concurrency: DefaultStorageQueueConcurrency}
	if opts != nil {
		if opts.TimeToLive < 0 {
			return nil, fmt.Errorf("messaging: negative TimeToLive %v", opts.TimeToLive)
		}
		if opts.TimeToLive > 0 {
			s.ttl = ceilSeconds(opts.TimeToLive)
		}
		if opts.Concurrency > 0 {
			s.concurrency = opts.Concurrency
		}
	}
	return s, nil
}

func (o *StorageQueueOptions) client() *azqueue.ClientOptions {
	if o == nil {
		return nil
	}
	return o.Client
}

// EnsureQueues creates every queue in Queues() and its poison queue, leaving
// existing ones (and their messages) alone. The dev host calls it before
// polling; Open calls it for the storage-queue transport.
func (s *StorageQueueSender) EnsureQueues(ctx context.Context) error {
	for _, q := range Queues() {
		for _, name := range []string{q, PoisonQueue(q)} {
			if err := s.createQueue(ctx, name); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *StorageQueueSender) createQueue(ctx context.Context, name string) error {
	_, err := s.svc.CreateQueue(ctx, name, nil)
	if err != nil && !queueerror.HasCode(err, queueerror.QueueAlreadyExists) {
		return fmt.Errorf("messaging: create storage queue %q: %w", name, err)
	}
	return nil
}

// Send validates and encodes every message first (nothing is sent if one is
// invalid or over 64 KiB), then enqueues them with bounded concurrency. On the
// first failure the remaining requests are cancelled; messages already
// enqueued stay there.
func (s *StorageQueueSender) Send(ctx context.Context, queue string, msgs ...Message) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if err := validateSend(queue, msgs); err != nil {
		return err
	}
	msgs = slices.Clone(msgs) // ids may be filled in below; the caller's slice stays as it was
	texts := make([]string, len(msgs))
	for i, m := range msgs {
		if m.Delay > MaxStorageQueueDelay || (s.ttl > 0 && ceilSeconds(m.Delay) >= s.ttl) {
			return fmt.Errorf("%w: delay %v of message %q exceeds what a storage queue allows (7 days, and less than the time to live)", ErrInvalidMessage, m.Delay, m.ID)
		}
		if m.ID == "" {
			// Service Bus assigns an id when none is given; do the same so the
			// handler always sees a MessageId.
			m.ID = rand.Text()
			msgs[i] = m
		}
		text, err := WrapEnvelope(m)
		if err != nil {
			return err
		}
		if len(text) > MaxStorageQueueMessageBytes {
			return tooLarge(queue, m, len(text), MaxStorageQueueMessageBytes, "storage queue messages (envelope included)")
		}
		texts[i] = string(text)
	}

	q := s.svc.NewQueueClient(queue)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		sem      = make(chan struct{}, s.concurrency)
	)
	for i := range msgs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := s.enqueue(ctx, q, queue, msgs[i], texts[i]); err != nil {
				errOnce.Do(func() { firstErr = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	// The parent context may have ended before every message was started.
	return ctx.Err()
}

// enqueue sends one message, creating the queue when it does not exist yet.
func (s *StorageQueueSender) enqueue(ctx context.Context, q *azqueue.QueueClient, queue string, m Message, text string) error {
	opts := &azqueue.EnqueueMessageOptions{TimeToLive: &s.ttl}
	if m.Delay > 0 {
		v := ceilSeconds(m.Delay) // never deliver earlier than asked
		opts.VisibilityTimeout = &v
	}
	_, err := q.EnqueueMessage(ctx, text, opts)
	if queueerror.HasCode(err, queueerror.QueueNotFound) {
		if err = s.createQueue(ctx, queue); err != nil {
			return err
		}
		_, err = q.EnqueueMessage(ctx, text, opts)
	}
	if err != nil {
		return translateStorageError(queue, m, len(text), err)
	}
	return nil
}

// translateStorageError is the one place service errors become package errors.
func translateStorageError(queue string, m Message, size int, err error) error {
	if queueerror.HasCode(err, queueerror.RequestBodyTooLarge, queueerror.MessageTooLarge) {
		return tooLarge(queue, m, size, MaxStorageQueueMessageBytes, "storage queue messages")
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("messaging: enqueue message %q on storage queue %q: %w", m.ID, queue, err)
}

// Close marks the sender closed; the HTTP client holds nothing to release.
func (s *StorageQueueSender) Close(context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

// ceilSeconds rounds d up to whole seconds, the unit Storage queues take.
func ceilSeconds(d time.Duration) int32 {
	secs := (d + time.Second - 1) / time.Second
	if secs > 1<<31-1 {
		return 1<<31 - 1
	}
	return int32(secs)
}
