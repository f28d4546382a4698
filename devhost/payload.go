package devhost

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// The host serialises every non-object binding and metadata value with
// JsonConvert.SerializeObject: strings gain a second layer of quotes inside
// the outer JSON string ("\"id\""), numbers become strings ("1"). These helpers
// reproduce that, so the handler is tested against the real encoding.

// hostString is a metadata string as the host sends it: "\"value\"".
func hostString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func sysMetadata(function string, now time.Time) map[string]any {
	return map[string]any{"MethodName": function, "UtcNow": now.UTC().Format(time.RFC3339Nano), "RandGuid": newGUID()}
}

// ServiceBusDelivery describes one delivery of a message to a serviceBusTrigger.
type ServiceBusDelivery struct {
	Body           []byte
	MessageID      string
	ContentType    string
	DeliveryCount  int
	SequenceNumber int64
	EnqueuedTime   time.Time
}

// ServiceBusInvocation builds the invocation body for a serviceBusTrigger, in
// the shape captured from the host.
func ServiceBusInvocation(function, binding string, d ServiceBusDelivery) ([]byte, error) {
	now := time.Now()
	md := map[string]any{
		"DeliveryCount":         strconv.Itoa(d.DeliveryCount),
		"LockToken":             hostString(newGUID()),
		"MessageId":             hostString(d.MessageID),
		"SequenceNumber":        strconv.FormatInt(d.SequenceNumber, 10),
		"EnqueuedTimeUtc":       d.EnqueuedTime.UTC().Format("2006-01-02T15:04:05"),
		"ApplicationProperties": map[string]any{},
		"UserProperties":        map[string]any{},
		"sys":                   sysMetadata(function, now),
	}
	if d.ContentType != "" {
		md["ContentType"] = hostString(d.ContentType)
	}
	return json.Marshal(map[string]any{
		"Data":     map[string]any{binding: string(d.Body)},
		"Metadata": md,
	})
}

// QueueDelivery describes one delivery of a Storage queue message.
type QueueDelivery struct {
	Body            []byte
	ID              string
	PopReceipt      string
	DequeueCount    int64
	InsertionTime   time.Time
	ExpirationTime  time.Time
	NextVisibleTime time.Time
}

// QueueInvocation builds the invocation body for a queueTrigger.
func QueueInvocation(function, binding string, d QueueDelivery) ([]byte, error) {
	iso := func(t time.Time) string { return hostString(t.UTC().Format("2006-01-02T15:04:05+00:00")) }
	return json.Marshal(map[string]any{
		"Data": map[string]any{binding: string(d.Body)},
		"Metadata": map[string]any{
			"DequeueCount":    strconv.FormatInt(d.DequeueCount, 10),
			"ExpirationTime":  iso(d.ExpirationTime),
			"Id":              hostString(d.ID),
			"InsertionTime":   iso(d.InsertionTime),
			"NextVisibleTime": iso(d.NextVisibleTime),
			"PopReceipt":      hostString(d.PopReceipt),
			"sys":             sysMetadata(function, time.Now()),
		},
	})
}

// TimerInvocation builds the invocation body for a timerTrigger.
func TimerInvocation(function, binding string, last, next time.Time, pastDue bool) ([]byte, error) {
	f := func(t time.Time) string {
		if t.IsZero() {
			return "0001-01-01T00:00:00"
		}
		return t.UTC().Format("2006-01-02T15:04:05.0000000+00:00")
	}
	return json.Marshal(map[string]any{
		"Data": map[string]any{binding: map[string]any{
			"Schedule":       map[string]any{"AdjustForDST": true},
			"ScheduleStatus": map[string]any{"Last": f(last), "Next": f(next), "LastUpdated": f(last)},
			"IsPastDue":      pastDue,
		}},
		"Metadata": map[string]any{"sys": sysMetadata(function, time.Now())},
	})
}
