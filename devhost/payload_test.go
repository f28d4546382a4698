package devhost

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/customhandler"
)

// What the dev host sends must decode through the handler runtime to exactly
// what went in, and keep the host's shape (double-encoded strings).
func TestServiceBusInvocationRoundTrip(t *testing.T) {
	enq := time.Date(2026, 11, 21, 20, 30, 5, 0, time.UTC)
	raw, err := ServiceBusInvocation("ScanEnvironment", "message", ServiceBusDelivery{
		Body: []byte(`{"runId":"r-1"}`), MessageID: "run-r-1", ContentType: "application/json",
		DeliveryCount: 3, SequenceNumber: 42, EnqueuedTime: enq,
	})
	if err != nil {
		t.Fatal(err)
	}
	var shape struct {
		Data     map[string]any
		Metadata map[string]any
	}
	_ = json.Unmarshal(raw, &shape)
	if shape.Data["message"] != `{"runId":"r-1"}` || shape.Metadata["MessageId"] != `"run-r-1"` || shape.Metadata["DeliveryCount"] != "3" {
		t.Errorf("not the host's encoding: %s", raw)
	}
	inv, err := customhandler.DecodeInvocation(raw)
	if err != nil {
		t.Fatal(err)
	}
	m, err := inv.ServiceBusMessage("message")
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Body) != `{"runId":"r-1"}` || m.MessageID != "run-r-1" || m.DeliveryCount != 3 || m.SequenceNumber != 42 ||
		!m.EnqueuedTime.Equal(enq) || m.ContentType != "application/json" || m.LockToken == "" {
		t.Errorf("decoded %+v", m)
	}
}

// The captured payload in the runtime's testdata has the same key set as ours.
func TestServiceBusInvocationMatchesCapturedKeys(t *testing.T) {
	captured, err := os.ReadFile("../shared/customhandler/testdata/servicebus.json")
	if err != nil {
		t.Fatal(err)
	}
	ours, _ := ServiceBusInvocation("F", "queue", ServiceBusDelivery{Body: []byte(`{}`), MessageID: "m", ContentType: "application/json", DeliveryCount: 1})
	var a, b struct{ Metadata map[string]json.RawMessage }
	_ = json.Unmarshal(captured, &a)
	_ = json.Unmarshal(ours, &b)
	for k := range a.Metadata {
		if _, ok := b.Metadata[k]; !ok {
			t.Errorf("dev host payload lacks metadata %s", k)
		}
	}
}

func TestQueueAndTimerInvocationRoundTrip(t *testing.T) {
	ins := time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)
	raw, _ := QueueInvocation("Q", "item", QueueDelivery{Body: []byte("plain text"), ID: "id-1", PopReceipt: "pr", DequeueCount: 2, InsertionTime: ins, NextVisibleTime: ins.Add(time.Minute), ExpirationTime: ins.Add(time.Hour)})
	inv, err := customhandler.DecodeInvocation(raw)
	if err != nil {
		t.Fatal(err)
	}
	q, err := inv.QueueMessage("item")
	if err != nil {
		t.Fatal(err)
	}
	if string(q.Body) != "plain text" || q.ID != "id-1" || q.DequeueCount != 2 || !q.InsertionTime.Equal(ins) || q.PopReceipt != "pr" {
		t.Errorf("queue message %+v", q)
	}
	raw, _ = TimerInvocation("T", "timer", ins, ins.Add(24*time.Hour), true)
	inv, err = customhandler.DecodeInvocation(raw)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := inv.Timer("timer")
	if err != nil {
		t.Fatal(err)
	}
	if !tm.IsPastDue || tm.ScheduleStatus == nil || tm.ScheduleStatus.Next == "" {
		t.Errorf("timer %+v", tm)
	}
}
