package customhandler

import (
	"encoding/json"
	"fmt"
	"time"
)

// Invocation is one request from the host: the trigger and input binding values
// and the trigger metadata, both still in the host's encoding.
type Invocation struct {
	// FunctionName is the path the host posted to.
	FunctionName string `json:"-"`
	// ID is X-Azure-Functions-InvocationId.
	ID       string                     `json:"-"`
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// BindingError says which binding or metadata field could not be decoded.
type BindingError struct {
	Field string
	Err   error
}

func (e *BindingError) Error() string { return fmt.Sprintf("invocation field %s: %v", e.Field, e.Err) }
func (e *BindingError) Unwrap() error { return e.Err }

// DecodeInvocation parses a host invocation body.
func DecodeInvocation(body []byte) (*Invocation, error) {
	var inv Invocation
	if err := json.Unmarshal(body, &inv); err != nil {
		return nil, &BindingError{Field: "body", Err: fmt.Errorf("not an invocation payload: %w", err)}
	}
	if inv.Data == nil {
		return nil, &BindingError{Field: "Data", Err: fmt.Errorf("missing")}
	}
	return &inv, nil
}

func (inv *Invocation) binding(name string) (json.RawMessage, error) {
	raw, ok := inv.Data[name]
	if !ok {
		return nil, &BindingError{Field: "Data." + name, Err: fmt.Errorf("binding not present (have %v)", keys(inv.Data))}
	}
	return raw, nil
}

func keys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// ServiceBusMessage is a Service Bus trigger value with its metadata decoded.
type ServiceBusMessage struct {
	Body                  []byte
	MessageID             string
	DeliveryCount         int
	ContentType           string
	CorrelationID         string
	SequenceNumber        int64
	EnqueuedTime          time.Time
	LockToken             string
	ApplicationProperties map[string]any
}

// ServiceBusMessage decodes the serviceBusTrigger binding named binding.
func (inv *Invocation) ServiceBusMessage(binding string) (*ServiceBusMessage, error) {
	raw, err := inv.binding(binding)
	if err != nil {
		return nil, err
	}
	body, err := decodeBody(raw)
	if err != nil {
		return nil, &BindingError{Field: "Data." + binding, Err: err}
	}
	m := &ServiceBusMessage{Body: body}
	md := metadata{inv: inv}
	m.MessageID = md.str("MessageId")
	m.ContentType = md.str("ContentType")
	m.CorrelationID = md.str("CorrelationId")
	m.LockToken = md.str("LockToken")
	m.DeliveryCount = int(md.int("DeliveryCount"))
	m.SequenceNumber = md.int("SequenceNumber")
	m.EnqueuedTime = md.time("EnqueuedTimeUtc")
	if raw, ok := inv.Metadata["ApplicationProperties"]; ok && len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &m.ApplicationProperties); err != nil {
			md.err = &BindingError{Field: "Metadata.ApplicationProperties", Err: err}
		}
	}
	if md.err != nil {
		return nil, md.err
	}
	return m, nil
}

// QueueMessage is a Storage queueTrigger value with its metadata decoded.
type QueueMessage struct {
	Body            []byte
	ID              string
	DequeueCount    int
	InsertionTime   time.Time
	ExpirationTime  time.Time
	NextVisibleTime time.Time
	PopReceipt      string
}

// QueueMessage decodes the queueTrigger binding named binding.
func (inv *Invocation) QueueMessage(binding string) (*QueueMessage, error) {
	raw, err := inv.binding(binding)
	if err != nil {
		return nil, err
	}
	body, err := decodeBody(raw)
	if err != nil {
		return nil, &BindingError{Field: "Data." + binding, Err: err}
	}
	md := metadata{inv: inv}
	m := &QueueMessage{
		Body:            body,
		ID:              md.str("Id"),
		DequeueCount:    int(md.int("DequeueCount")),
		InsertionTime:   md.time("InsertionTime"),
		ExpirationTime:  md.time("ExpirationTime"),
		NextVisibleTime: md.time("NextVisibleTime"),
		PopReceipt:      md.str("PopReceipt"),
	}
	if md.err != nil {
		return nil, md.err
	}
	return m, nil
}

// Timer is a timerTrigger value.
type Timer struct {
	Schedule struct {
		AdjustForDST bool `json:"AdjustForDST"`
	} `json:"Schedule"`
	ScheduleStatus *struct {
		Last        string `json:"Last"`
		Next        string `json:"Next"`
		LastUpdated string `json:"LastUpdated"`
	} `json:"ScheduleStatus"`
	IsPastDue bool `json:"IsPastDue"`
}

// Timer decodes the timerTrigger binding named binding.
func (inv *Invocation) Timer(binding string) (*Timer, error) {
	raw, err := inv.binding(binding)
	if err != nil {
		return nil, err
	}
	var t Timer
	// The timer value is an object, but tolerate it arriving as a JSON string too.
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, &BindingError{Field: "Data." + binding, Err: err}
		}
		raw = json.RawMessage(s)
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, &BindingError{Field: "Data." + binding, Err: err}
	}
	return &t, nil
}

// metadata decodes fields and keeps the first error.
type metadata struct {
	inv *Invocation
	err error
}

func (m *metadata) str(name string) string {
	s, err := decodeString(m.inv.Metadata[name])
	m.keep(name, err)
	return s
}

func (m *metadata) int(name string) int64 {
	n, err := decodeInt(m.inv.Metadata[name])
	m.keep(name, err)
	return n
}

func (m *metadata) time(name string) time.Time {
	t, err := decodeTime(m.inv.Metadata[name])
	m.keep(name, err)
	return t
}

func (m *metadata) keep(name string, err error) {
	if err != nil && m.err == nil {
		m.err = &BindingError{Field: "Metadata." + name, Err: err}
	}
}
