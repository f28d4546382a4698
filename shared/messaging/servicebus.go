package messaging

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// ServiceBusOptions configures a ServiceBusSender. A nil *ServiceBusOptions
// means defaults.
type ServiceBusOptions struct {
	// Client is passed to azservicebus (retry policy, websockets, TLS). Nil
	// means the SDK defaults.
	Client *azservicebus.ClientOptions
}

// ServiceBusSender sends to Service Bus queues. The queues are expected to have
// requiresDuplicateDetection on, so Message.ID makes a re-send a no-op within
// the detection window. Safe for concurrent use: one azservicebus.Sender (one
// AMQP link) is opened per queue on first use and shared by every Send.
type ServiceBusSender struct {
	client *azservicebus.Client // nil in tests that inject newQueue
	// newQueue opens the per-queue sender; a seam so batching can be tested
	// without a broker (azservicebus.MessageBatch cannot be built without one).
	newQueue func(queue string) (sbQueue, error)
	now      func() time.Time

	mu      sync.Mutex
	senders map[string]sbQueue
	closed  bool
}

var _ Sender = (*ServiceBusSender)(nil)

// NewServiceBusSender connects to a namespace with an identity, the Azure
// setup: namespace is the host named by
// ServiceBusConnection__fullyQualifiedNamespace, e.g. sb-xyz.servicebus.windows.net.
// No connection is made until the first Send.
func NewServiceBusSender(namespace string, cred azcore.TokenCredential, opts *ServiceBusOptions) (*ServiceBusSender, error) {
	if namespace == "" || strings.ContainsAny(namespace, "/;@ ") {
		return nil, fmt.Errorf("%w: Service Bus namespace %q must be a bare host name such as sb-xyz.servicebus.windows.net", ErrNotConfigured, namespace)
	}
	if cred == nil {
		return nil, fmt.Errorf("%w: no credential for Service Bus namespace %q", ErrNotConfigured, namespace)
	}
	client, err := azservicebus.NewClient(namespace, cred, opts.client())
	if err != nil {
		return nil, fmt.Errorf("messaging: Service Bus client for %q: %w", namespace, err)
	}
	return newServiceBusSender(client), nil
}

// NewServiceBusSenderFromConnectionString connects with a shared-access
// connection string, for places where identity-based access is impossible.
// No connection is made until the first Send.
func NewServiceBusSenderFromConnectionString(connectionString string, opts *ServiceBusOptions) (*ServiceBusSender, error) {
	client, err := azservicebus.NewClientFromConnectionString(connectionString, opts.client())
	if err != nil {
		// The SDK's parse errors may quote parts of the string (the endpoint);
		// the string holds the key, so none of it is echoed.
		return nil, fmt.Errorf("%w: the Service Bus connection string is malformed (expected Endpoint=sb://...;SharedAccessKeyName=...;SharedAccessKey=...)", ErrNotConfigured)
	}
	return newServiceBusSender(client), nil
}

func newServiceBusSender(client *azservicebus.Client) *ServiceBusSender {
	s := &ServiceBusSender{client: client, now: time.Now, senders: map[string]sbQueue{}}
	s.newQueue = func(queue string) (sbQueue, error) {
		snd, err := client.NewSender(queue, nil)
		if err != nil {
			return nil, err
		}
		return sdkQueue{snd}, nil
	}
	return s
}

func (o *ServiceBusOptions) client() *azservicebus.ClientOptions {
	if o == nil {
		return nil
	}
	return o.Client
}

// Send validates msgs, then sends them in as few batches as fit. Delayed
// messages travel in the same batches with ScheduledEnqueueTime set; the
// broker holds them until then.
func (s *ServiceBusSender) Send(ctx context.Context, queue string, msgs ...Message) error {
	if err := validateSend(queue, msgs); err != nil {
		return err
	}
	if len(msgs) == 0 {
		return nil
	}
	q, err := s.queue(queue)
	if err != nil {
		return err
	}
	now := s.now()
	converted := make([]*azservicebus.Message, len(msgs))
	for i, m := range msgs {
		converted[i] = toServiceBusMessage(m, now)
	}
	return sendBatched(ctx, q, queue, msgs, converted)
}

// queue returns the cached sender for queue, opening it on first use.
func (s *ServiceBusSender) queue(name string) (sbQueue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if q, ok := s.senders[name]; ok {
		return q, nil
	}
	q, err := s.newQueue(name)
	if err != nil {
		return nil, fmt.Errorf("messaging: open Service Bus sender for queue %q: %w", name, err)
	}
	s.senders[name] = q
	return q, nil
}

// Close closes every per-queue sender, then the client. Send fails with
// ErrClosed afterwards.
func (s *ServiceBusSender) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	senders := s.senders
	s.senders = nil
	s.mu.Unlock()

	var errs []error
	for name, q := range senders {
		if err := q.close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("messaging: close Service Bus sender for queue %q: %w", name, err))
		}
	}
	if s.client != nil {
		if err := s.client.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("messaging: close Service Bus client: %w", err))
		}
	}
	return errors.Join(errs...)
}

// toServiceBusMessage converts m. now is the send time the delay counts from.
func toServiceBusMessage(m Message, now time.Time) *azservicebus.Message {
	contentType := "application/json"
	out := &azservicebus.Message{Body: m.Body, ContentType: &contentType}
	if m.ID != "" {
		// Without an id the broker assigns one, and duplicate detection cannot
		// recognise a re-send: callers should pass deterministic ids.
		id := m.ID
		out.MessageID = &id
	}
	if m.Delay > 0 {
		at := now.Add(m.Delay).UTC()
		out.ScheduledEnqueueTime = &at
	}
	return out
}

// sbBatch is the part of *azservicebus.MessageBatch the batching uses.
type sbBatch interface {
	AddMessage(m *azservicebus.Message, opts *azservicebus.AddMessageOptions) error
	NumMessages() int32
}

// sbQueue is the part of *azservicebus.Sender the batching uses.
type sbQueue interface {
	newBatch(ctx context.Context) (sbBatch, error)
	send(ctx context.Context, b sbBatch) error
	close(ctx context.Context) error
}

// sdkQueue adapts *azservicebus.Sender to sbQueue.
type sdkQueue struct{ s *azservicebus.Sender }

var _ sbBatch = (*azservicebus.MessageBatch)(nil)

func (q sdkQueue) newBatch(ctx context.Context) (sbBatch, error) {
	return q.s.NewMessageBatch(ctx, nil)
}

func (q sdkQueue) send(ctx context.Context, b sbBatch) error {
	return q.s.SendMessageBatch(ctx, b.(*azservicebus.MessageBatch), nil)
}

func (q sdkQueue) close(ctx context.Context) error { return q.s.Close(ctx) }

// sendBatched fills a batch until the SDK reports it full
// (azservicebus.ErrMessageTooLarge), sends it and starts the next one, so a
// Send of any length costs ceil(size/limit) round trips. A message that does
// not fit even an empty batch can never be sent and is reported as
// ErrMessageTooLarge; batches before it have been sent (the Sender contract
// allows that: ids make the caller's re-send safe).
func sendBatched(ctx context.Context, q sbQueue, queue string, msgs []Message, converted []*azservicebus.Message) error {
	var batch sbBatch
	sent := 0 // messages in batches already sent, for error context
	flush := func() error {
		if batch == nil || batch.NumMessages() == 0 {
			return nil
		}
		n := int(batch.NumMessages())
		if err := q.send(ctx, batch); err != nil {
			return fmt.Errorf("messaging: send batch of %d messages (%d already sent) to queue %q: %w", n, sent, queue, err)
		}
		sent += n
		batch = nil
		return nil
	}
	for i, m := range converted {
		for {
			if batch == nil {
				b, err := q.newBatch(ctx)
				if err != nil {
					return fmt.Errorf("messaging: new batch for queue %q: %w", queue, err)
				}
				batch = b
			}
			err := batch.AddMessage(m, nil)
			if err == nil {
				break
			}
			if !errors.Is(err, azservicebus.ErrMessageTooLarge) {
				return fmt.Errorf("messaging: add message %q to batch for queue %q: %w", msgs[i].ID, queue, err)
			}
			if batch.NumMessages() == 0 {
				return fmt.Errorf("%w: %w: message %q for queue %q (%d body bytes) does not fit an empty Service Bus batch",
					ErrInvalidMessage, ErrMessageTooLarge, msgs[i].ID, queue, len(msgs[i].Body))
			}
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
