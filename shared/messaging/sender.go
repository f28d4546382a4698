package messaging

import (
	"context"
	"errors"
	"time"
)

// Message is one message to send.
type Message struct {
	// ID de-duplicates on Service Bus (requiresDuplicateDetection) and is passed
	// to the handler as MessageId on both transports. Deterministic ids (run id,
	// run/table/page) make a re-sent message a no-op within the detection window.
	// At most 128 characters.
	ID string
	// Body is the message payload, JSON.
	Body []byte
	// Delay postpones delivery (429 back-off: Retry-After). Zero sends now.
	Delay time.Duration
}

// Sender sends messages to the named queues. Implementations are safe for
// concurrent use.
//
// Error contract: a returned error means none or only some of msgs may have
// been sent; callers re-send all of them (ids make that safe) or fail the
// invocation so the host redelivers the triggering message.
type Sender interface {
	// Send enqueues msgs on queue, in as few round trips as the transport
	// allows (batches on Service Bus).
	Send(ctx context.Context, queue string, msgs ...Message) error
	// Close releases connections.
	Close(ctx context.Context) error
}

// ErrUnknownQueue is returned when a queue is not one of Queues().
var ErrUnknownQueue = errors.New("messaging: unknown queue")

// ErrInvalidMessage is returned for an empty body or an over-long id.
var ErrInvalidMessage = errors.New("messaging: invalid message")

// MaxIDLength is Service Bus's limit on MessageId.
const MaxIDLength = 128
