package customhandler

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"
)

func load(t *testing.T, name string) *Invocation {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := DecodeInvocation(raw)
	if err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return inv
}

// The captured serviceBusTrigger payload: body is a JSON string holding JSON,
// MessageId and LockToken carry a second layer of quotes, numbers are strings.
func TestServiceBusCapturedPayload(t *testing.T) {
	m, err := load(t, "servicebus.json").ServiceBusMessage("queue")
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Message string `json:"message"`
		Number  int    `json:"number"`
	}
	if err := json.Unmarshal(m.Body, &body); err != nil {
		t.Fatalf("body %q is not the original JSON: %v", m.Body, err)
	}
	if body.Message != "hello" || body.Number != 2 {
		t.Errorf("body = %+v", body)
	}
	if m.MessageID != "4e77a2b1c3d4e5f60718293a4b5c6d7e" {
		t.Errorf("MessageID = %q (quotes not removed?)", m.MessageID)
	}
	if m.LockToken != "4e77d3b5-6a2e-4d8e-9a8c-1c2b3d4e5f60" {
		t.Errorf("LockToken = %q", m.LockToken)
	}
	if m.ContentType != "application/json" {
		t.Errorf("ContentType = %q", m.ContentType)
	}
	if m.DeliveryCount != 1 || m.SequenceNumber != 1 {
		t.Errorf("DeliveryCount=%d SequenceNumber=%d", m.DeliveryCount, m.SequenceNumber)
	}
	if want := time.Date(2023, 10, 12, 20, 13, 49, 0, time.UTC); !m.EnqueuedTime.Equal(want) {
		t.Errorf("EnqueuedTime = %v, want %v", m.EnqueuedTime, want)
	}
}

func TestTimerCapturedPayload(t *testing.T) {
	tm, err := load(t, "timer.json").Timer("timer")
	if err != nil {
		t.Fatal(err)
	}
	if !tm.Schedule.AdjustForDST || tm.IsPastDue || tm.ScheduleStatus == nil || tm.ScheduleStatus.Next != "2023-10-13T02:00:00+00:00" {
		t.Errorf("timer = %+v", tm)
	}
}

func TestQueueTriggerPayload(t *testing.T) {
	m, err := load(t, "queue.json").QueueMessage("myQueueItem")
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Body) != `{"runId":"r-1","page":3}` {
		t.Errorf("body = %q", m.Body)
	}
	if m.ID != "a1b2c3d4-0000-4000-8000-000000000001" || m.DequeueCount != 2 || m.PopReceipt != "AgAAAAMAAAAAAAAA" {
		t.Errorf("metadata = %+v", m)
	}
	if m.InsertionTime.IsZero() || !m.NextVisibleTime.After(m.InsertionTime) || !m.ExpirationTime.After(m.NextVisibleTime) {
		t.Errorf("times = %v %v %v", m.InsertionTime, m.NextVisibleTime, m.ExpirationTime)
	}
}

func TestDecodeErrorsNameTheField(t *testing.T) {
	cases := map[string]struct {
		body, binding, field string
	}{
		"not json":          {`{"Data":`, "message", "body"},
		"no data":           {`{"Metadata":{}}`, "message", "Data"},
		"missing binding":   {`{"Data":{"other":"x"},"Metadata":{}}`, "message", "Data.message"},
		"null body":         {`{"Data":{"message":null},"Metadata":{}}`, "message", "Data.message"},
		"bad deliverycount": {`{"Data":{"message":"{}"},"Metadata":{"DeliveryCount":"one"}}`, "message", "Metadata.DeliveryCount"},
		"bad time":          {`{"Data":{"message":"{}"},"Metadata":{"EnqueuedTimeUtc":"yesterday"}}`, "message", "Metadata.EnqueuedTimeUtc"},
		"object messageid":  {`{"Data":{"message":"{}"},"Metadata":{"MessageId":{"a":1}}}`, "message", "Metadata.MessageId"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			inv, err := DecodeInvocation([]byte(c.body))
			if err == nil {
				_, err = inv.ServiceBusMessage(c.binding)
			}
			var be *BindingError
			if !errors.As(err, &be) {
				t.Fatalf("err = %v, want *BindingError", err)
			}
			if be.Field != c.field {
				t.Errorf("field = %q, want %q (err %v)", be.Field, c.field, err)
			}
		})
	}
}

// A body that was sent as an object (not a string) is passed through as JSON.
func TestObjectBody(t *testing.T) {
	inv, err := DecodeInvocation([]byte(`{"Data":{"message":{"runId":"r"}},"Metadata":{"MessageId":"\"m\"","DeliveryCount":3}}`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := inv.ServiceBusMessage("message")
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Body) != `{"runId":"r"}` || m.MessageID != "m" || m.DeliveryCount != 3 {
		t.Errorf("got %+v", m)
	}
}

func FuzzDecodeInvocation(f *testing.F) {
	for _, n := range []string{"servicebus.json", "timer.json", "queue.json"} {
		b, err := os.ReadFile("testdata/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"Data":{"message":"\"\\\"x\\\"\""},"Metadata":{"MessageId":"\"\\\"\""}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, err := DecodeInvocation(b)
		if err != nil {
			return
		}
		// Decoding must never panic, whatever the shape.
		_, _ = inv.ServiceBusMessage("message")
		_, _ = inv.QueueMessage("message")
		_, _ = inv.Timer("timer")
	})
}
