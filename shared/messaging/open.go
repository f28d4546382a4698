package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/cloudbackup-d365/cloudbackup/shared/config"
)

// ErrMessageTooLarge is returned when one message cannot fit the transport's
// size limit (64 KiB of text on Storage queues, the batch size on Service Bus).
// It always comes wrapped together with ErrInvalidMessage: re-sending the same
// message can never succeed, so callers must not retry it.
var ErrMessageTooLarge = errors.New("messaging: message too large")

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("messaging: sender closed")

// ErrNotConfigured is returned by Open when the configuration does not name a
// usable transport (missing namespace, credential or endpoint).
var ErrNotConfigured = errors.New("messaging: transport not configured")

// Open returns the Sender the configuration asks for.
//
// With cfg.Transport == config.TransportServiceBus it connects to
// cfg.ServiceBusNamespace with cred (identity-based, the Azure setup) or, when
// no namespace is set, with cfg.ServiceBusConnectionString. With
// config.TransportStorageQueue it uses storage.ConnectionString (Azurite) or
// storage.QueueURL with cred, and creates every queue and poison queue
// (EnsureQueues) before returning, so a dev host polling the queues never
// meets a missing one; that is the only network I/O Open does and what ctx
// bounds. The Service Bus client connects lazily on the first Send.
//
// cred may be nil when a connection string is used.
func Open(ctx context.Context, cfg config.Messaging, storage config.Storage, cred azcore.TokenCredential) (Sender, error) {
	switch cfg.Transport {
	case config.TransportServiceBus:
		if cfg.ServiceBusNamespace != "" {
			if cred == nil {
				return nil, fmt.Errorf("%w: %s is set but no credential was given", ErrNotConfigured, config.EnvServiceBusFQNS)
			}
			return NewServiceBusSender(cfg.ServiceBusNamespace, cred, nil)
		}
		if cfg.ServiceBusConnectionString != "" {
			return NewServiceBusSenderFromConnectionString(cfg.ServiceBusConnectionString, nil)
		}
		return nil, fmt.Errorf("%w: set %s (identity) or %s", ErrNotConfigured, config.EnvServiceBusFQNS, config.EnvServiceBus)

	case config.TransportStorageQueue:
		var (
			s   *StorageQueueSender
			err error
		)
		switch {
		case storage.ConnectionString != "":
			s, err = NewStorageQueueSenderFromConnectionString(storage.ConnectionString, nil)
		case storage.QueueURL != "":
			if cred == nil {
				return nil, fmt.Errorf("%w: %s is set but no credential was given", ErrNotConfigured, config.EnvStorageQueueURI)
			}
			s, err = NewStorageQueueSender(storage.QueueURL, cred, nil)
		default:
			return nil, fmt.Errorf("%w: storage queues need %s or a queue endpoint", ErrNotConfigured, config.EnvStorage)
		}
		if err != nil {
			return nil, err
		}
		if err := s.EnsureQueues(ctx); err != nil {
			_ = s.Close(ctx)
			return nil, err
		}
		return s, nil

	default:
		return nil, fmt.Errorf("%w: transport %q is not one of %q, %q", ErrNotConfigured, cfg.Transport, config.TransportServiceBus, config.TransportStorageQueue)
	}
}

// validateSend applies the checks every implementation shares, before anything
// is sent: so an invalid batch is rejected as a whole and never half-sent.
func validateSend(queue string, msgs []Message) error {
	if !slices.Contains(Queues(), queue) {
		return fmt.Errorf("%w: %q (known: %v)", ErrUnknownQueue, queue, Queues())
	}
	for i, m := range msgs {
		if err := validateMessage(m); err != nil {
			return fmt.Errorf("message %d of %d for queue %q: %w", i+1, len(msgs), queue, err)
		}
	}
	return nil
}

func validateMessage(m Message) error {
	switch {
	case len(m.ID) > MaxIDLength:
		return fmt.Errorf("%w: id %.32q... is %d characters, at most %d are allowed", ErrInvalidMessage, m.ID, len(m.ID), MaxIDLength)
	case len(m.Body) == 0:
		return fmt.Errorf("%w: message %q has an empty body", ErrInvalidMessage, m.ID)
	case !json.Valid(m.Body):
		return fmt.Errorf("%w: body of message %q is not JSON", ErrInvalidMessage, m.ID)
	case m.Delay < 0:
		return fmt.Errorf("%w: message %q has a negative delay %v", ErrInvalidMessage, m.ID, m.Delay)
	}
	return nil
}

// tooLarge builds the error for a message over a transport limit.
func tooLarge(queue string, m Message, size, limit int, where string) error {
	return fmt.Errorf("%w: %w: message %q for queue %q is %d bytes, %s take at most %d",
		ErrInvalidMessage, ErrMessageTooLarge, m.ID, queue, size, where, limit)
}
