package messaging

import (
	"context"
	"slices"
	"sync"
)

// MemorySender records messages in memory, for unit tests of packages that
// send. It applies the same validation as the real transports (unknown queue,
// invalid message, closed) so a test catches what production would reject,
// but has no size limit and delivers nothing: tests read Sent instead.
type MemorySender struct {
	// Hook, when set, runs before each Send is recorded; a non-nil error fails
	// that Send and nothing is recorded (fault injection).
	Hook func(ctx context.Context, queue string, msgs []Message) error

	mu     sync.Mutex
	sent   map[string][]Message
	closed bool
}

var _ Sender = (*MemorySender)(nil)

// NewMemorySender returns an empty MemorySender.
func NewMemorySender() *MemorySender { return &MemorySender{sent: map[string][]Message{}} }

// Send validates msgs and records them, Delay included, in order.
func (s *MemorySender) Send(ctx context.Context, queue string, msgs ...Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateSend(queue, msgs); err != nil {
		return err
	}
	if s.Hook != nil {
		if err := s.Hook(ctx, queue, msgs); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.sent == nil {
		s.sent = map[string][]Message{}
	}
	for _, m := range msgs {
		m.Body = slices.Clone(m.Body) // the caller may reuse its buffer
		s.sent[queue] = append(s.sent[queue], m)
	}
	return nil
}

// Sent returns a copy of the messages recorded for queue, in send order.
func (s *MemorySender) Sent(queue string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent[queue])
}

// Take returns and forgets the messages recorded for queue, like a receiver
// draining it.
func (s *MemorySender) Take(queue string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	msgs := s.sent[queue]
	delete(s.sent, queue)
	return msgs
}

// Reset forgets every recorded message.
func (s *MemorySender) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = map[string][]Message{}
}

// Close makes later Sends fail with ErrClosed; recorded messages stay readable.
func (s *MemorySender) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
