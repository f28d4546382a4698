package messaging

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/cloudbackup-d365/cloudbackup/shared/config"
	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
)

// newStorageSender returns a sender on the shared Azurite with all queues
// created and empty.
func newStorageSender(t *testing.T, opts *StorageQueueOptions) (*StorageQueueSender, *azqueue.ServiceClient) {
	t.Helper()
	az := azurite.Shared(t)
	s, err := NewStorageQueueSenderFromConnectionString(az.ConnectionString(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureQueues(context.Background()); err != nil {
		t.Fatal(err)
	}
	svc := queueService(t, az)
	clearQueues(t, svc)
	return s, svc
}

// envelopeBody returns a body whose envelope (for id) is exactly size bytes.
func envelopeBody(t *testing.T, id string, size int) []byte {
	t.Helper()
	text, err := WrapEnvelope(Message{ID: id, Body: []byte(`""`)})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Appendf(nil, `"%s"`, strings.Repeat("a", size-len(text)))
}

func TestStorageQueue64KiBLimit(t *testing.T) {
	s, svc := newStorageSender(t, nil)
	ctx := context.Background()

	// Exactly at the limit: accepted by us and by the service (Azurite counts
	// UTF-8 bytes of the text like Azure), so our limit is not too strict.
	at := Message{ID: "at-limit", Body: envelopeBody(t, "at-limit", MaxStorageQueueMessageBytes)}
	if err := s.Send(ctx, QueueFiles, at); err != nil {
		t.Fatalf("message of exactly 64 KiB: %v", err)
	}
	if got := dequeue(t, svc, QueueFiles, 1, 5*time.Second); len(got) != 1 || len(got[0].Body) != len(at.Body) {
		t.Fatalf("64 KiB message did not arrive intact")
	}

	over := Message{ID: "one-byte-over", Body: envelopeBody(t, "one-byte-over", MaxStorageQueueMessageBytes+1)}
	err := s.Send(ctx, QueueFiles, Message{ID: "small", Body: []byte(`{}`)}, over)
	if !errors.Is(err, ErrMessageTooLarge) || !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("over the limit: err = %v, want ErrMessageTooLarge and ErrInvalidMessage", err)
	}
	if !strings.Contains(err.Error(), `"one-byte-over"`) {
		t.Errorf("error does not name the message: %v", err)
	}
	if got := dequeue(t, svc, QueueFiles, 0, 300*time.Millisecond); len(got) != 0 {
		t.Errorf("an over-size batch was partly sent: %v", ids(got))
	}
}

func TestStorageQueueCreatesMissingQueueOnFirstUse(t *testing.T) {
	s, svc := newStorageSender(t, nil)
	ctx := context.Background()
	if _, err := svc.DeleteQueue(ctx, QueueRestore, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, QueueRestore, Message{ID: "r1", Body: []byte(`{"chunk":1}`)}); err != nil {
		t.Fatalf("send to a deleted queue: %v", err)
	}
	if got := dequeue(t, svc, QueueRestore, 1, 5*time.Second); len(got) != 1 || got[0].ID != "r1" {
		t.Fatalf("got %v, want [r1]", ids(got))
	}
}

func TestStorageQueueEnsureQueuesIsIdempotent(t *testing.T) {
	s, svc := newStorageSender(t, nil)
	ctx := context.Background()
	if err := s.Send(ctx, QueueScan, Message{ID: "keep", Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureQueues(ctx); err != nil {
		t.Fatalf("second EnsureQueues: %v", err)
	}
	if got := dequeue(t, svc, QueueScan, 1, 5*time.Second); len(got) != 1 {
		t.Fatalf("EnsureQueues lost queued messages: got %v", ids(got))
	}
	for _, q := range Queues() {
		for _, name := range []string{q, PoisonQueue(q)} {
			if _, err := svc.NewQueueClient(name).GetProperties(ctx, nil); err != nil {
				t.Errorf("queue %q missing after EnsureQueues: %v", name, err)
			}
		}
	}
}

func TestStorageQueueTimeToLiveAndIDs(t *testing.T) {
	ctx := context.Background()
	s, svc := newStorageSender(t, nil)
	msgs := []Message{{Body: []byte(`{"no":"id"}`)}}
	if err := s.Send(ctx, QueueScan, msgs...); err != nil {
		t.Fatal(err)
	}
	if msgs[0].ID != "" {
		t.Errorf("Send changed the caller's message: id %q", msgs[0].ID)
	}
	n := int32(1)
	resp, err := svc.NewQueueClient(QueueScan).DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &n})
	if err != nil || len(resp.Messages) != 1 {
		t.Fatalf("dequeue: %v, %d messages", err, len(resp.Messages))
	}
	dm := resp.Messages[0]
	if env, ok := UnwrapEnvelope([]byte(*dm.MessageText)); !ok || env.MessageID == "" {
		t.Errorf("a message sent without id should get one, envelope %s", *dm.MessageText)
	}
	if years := time.Until(*dm.ExpirationTime) / (365 * 24 * time.Hour); years < 100 {
		t.Errorf("default TTL should be never (-1), message expires %v", dm.ExpirationTime)
	}

	s2, _ := newStorageSender(t, &StorageQueueOptions{TimeToLive: time.Hour})
	if err := s2.Send(ctx, QueueScan, Message{ID: "ttl", Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	resp, err = svc.NewQueueClient(QueueScan).DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &n})
	if err != nil || len(resp.Messages) != 1 {
		t.Fatalf("dequeue: %v", err)
	}
	if ttl := resp.Messages[0].ExpirationTime.Sub(*resp.Messages[0].InsertionTime); ttl != time.Hour {
		t.Errorf("TimeToLive option: message lives %v, want 1h", ttl)
	}
	if err := s2.Send(ctx, QueueScan, Message{ID: "late", Body: []byte(`{}`), Delay: 2 * time.Hour}); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("delay beyond the TTL: err = %v, want ErrInvalidMessage", err)
	}
	if err := s.Send(ctx, QueueScan, Message{ID: "late", Body: []byte(`{}`), Delay: 8 * 24 * time.Hour}); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("delay beyond 7 days: err = %v, want ErrInvalidMessage", err)
	}
}

func TestStorageQueueErrorsKeepTheKeySecret(t *testing.T) {
	// Nothing listens on port 1: the request fails at once (retries off).
	cs := "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + azurite.AccountKey +
		";QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;"
	s, err := NewStorageQueueSenderFromConnectionString(cs, &StorageQueueOptions{
		Client: &azqueue.ClientOptions{ClientOptions: policy.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), QueueScan, Message{ID: "x", Body: []byte(`{}`)})
	if err == nil {
		t.Fatal("send to a closed port succeeded")
	}
	if strings.Contains(err.Error(), azurite.AccountKey) || strings.Contains(err.Error(), "AccountKey") {
		t.Errorf("error leaks the key: %v", err)
	}
	if !strings.Contains(err.Error(), `"x"`) || !strings.Contains(err.Error(), QueueScan) {
		t.Errorf("error lacks message id and queue: %v", err)
	}

	_, err = NewStorageQueueSenderFromConnectionString("AccountKey="+azurite.AccountKey, nil)
	if !errors.Is(err, ErrNotConfigured) || strings.Contains(err.Error(), azurite.AccountKey) {
		t.Errorf("malformed connection string: err = %v", err)
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	var cred azcore.TokenCredential = &fakeCredential{}

	s, err := Open(ctx, config.Messaging{Transport: config.TransportServiceBus, ServiceBusNamespace: "sb-x.servicebus.windows.net"}, config.Storage{}, cred)
	if _, ok := s.(*ServiceBusSender); err != nil || !ok {
		t.Errorf("servicebus + namespace: %T, %v", s, err)
	} else {
		_ = s.Close(ctx)
	}
	s, err = Open(ctx, config.Messaging{Transport: config.TransportServiceBus, ServiceBusConnectionString: "Endpoint=sb://sb-x.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=dg=="}, config.Storage{}, nil)
	if _, ok := s.(*ServiceBusSender); err != nil || !ok {
		t.Errorf("servicebus + connection string: %T, %v", s, err)
	} else {
		_ = s.Close(ctx)
	}
	for name, tc := range map[string]struct {
		m config.Messaging
		s config.Storage
	}{
		"namespace without credential": {config.Messaging{Transport: config.TransportServiceBus, ServiceBusNamespace: "sb-x.servicebus.windows.net"}, config.Storage{}},
		"servicebus without settings":  {config.Messaging{Transport: config.TransportServiceBus}, config.Storage{}},
		"storage without settings":     {config.Messaging{Transport: config.TransportStorageQueue}, config.Storage{}},
		"queue URL without credential": {config.Messaging{Transport: config.TransportStorageQueue}, config.Storage{QueueURL: "https://a.queue.core.windows.net/"}},
		"unknown transport":            {config.Messaging{Transport: "kafka"}, config.Storage{}},
	} {
		credFor := cred
		if strings.Contains(name, "without credential") {
			credFor = nil
		}
		if _, err := Open(ctx, tc.m, tc.s, credFor); !errors.Is(err, ErrNotConfigured) {
			t.Errorf("%s: err = %v, want ErrNotConfigured", name, err)
		}
	}

	// Storage queues: Open creates every queue and poison queue.
	az := azurite.Shared(t)
	svc := queueService(t, az)
	for _, q := range Queues() {
		_, _ = svc.DeleteQueue(ctx, PoisonQueue(q), nil)
	}
	s, err = Open(ctx, config.Messaging{Transport: config.TransportStorageQueue}, config.Storage{ConnectionString: az.ConnectionString()}, nil)
	if _, ok := s.(*StorageQueueSender); err != nil || !ok {
		t.Fatalf("storagequeue + connection string: %T, %v", s, err)
	}
	defer s.Close(ctx)
	for _, q := range Queues() {
		if _, err := svc.NewQueueClient(PoisonQueue(q)).GetProperties(ctx, nil); err != nil {
			t.Errorf("Open did not create %q: %v", PoisonQueue(q), err)
		}
	}
}
