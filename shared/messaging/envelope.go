package messaging

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Envelope is the text of a Storage queue message written by the storage-queue
// Sender. Storage queues have no user-settable message id or content type, so
// they travel inside the text; the dev host unwraps the envelope and hands the
// handler the same Data/Metadata a Service Bus trigger would get. A message put
// on the queue by hand (plain JSON, not an envelope) is delivered as-is, with
// the Storage message id as MessageId.
type Envelope struct {
	// Version marks the text as an envelope; always EnvelopeVersion.
	Version     int             `json:"cloudbackupEnvelope"`
	MessageID   string          `json:"messageId"`
	ContentType string          `json:"contentType,omitempty"`
	Body        json.RawMessage `json:"body"`
}

// EnvelopeVersion is the current envelope format.
const EnvelopeVersion = 1

// WrapEnvelope builds the queue text for a message. The body must be JSON.
func WrapEnvelope(m Message) ([]byte, error) {
	if !json.Valid(m.Body) {
		return nil, fmt.Errorf("%w: body of message %q is not JSON", ErrInvalidMessage, m.ID)
	}
	// No HTML escaping: the handler must receive the body bytes that were sent.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(Envelope{Version: EnvelopeVersion, MessageID: m.ID, ContentType: "application/json", Body: m.Body}); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// UnwrapEnvelope returns the envelope in text, or ok=false when text is not an
// envelope (a hand-made message).
func UnwrapEnvelope(text []byte) (env Envelope, ok bool) {
	if err := json.Unmarshal(text, &env); err != nil || env.Version != EnvelopeVersion || len(env.Body) == 0 {
		return Envelope{}, false
	}
	return env, true
}
