package functions

import (
	"context"

	"github.com/cloudbackup-d365/cloudbackup/shared/customhandler"
)

// trigger returns the handler of a non-HTTP function. Until its domain logic
// lands, a function decodes its input (so malformed payloads are reported) and
// answers 501: the host then retries and finally dead-letters, which is the
// behaviour an unimplemented consumer must have (nothing silently completed).
func (a *App) trigger(d Definition) customhandler.TriggerFunc {
	return func(ctx context.Context, inv *customhandler.Invocation) (*customhandler.Result, error) {
		switch d.Trigger {
		case TimerTrigger:
			t, err := inv.Timer(TimerBinding)
			if err != nil {
				return nil, err
			}
			a.Log.InfoContext(ctx, "timer fired", "function", d.Name, "pastDue", t.IsPastDue)
			return nil, customhandler.NotImplemented(d.Name, "the backup engine arrives with its own issue")
		case ServiceBusTrigger:
			m, err := inv.ServiceBusMessage(MessageBinding)
			if err != nil {
				return nil, err
			}
			a.Log.InfoContext(ctx, "message received", "function", d.Name, "queue", d.Queue,
				"messageId", m.MessageID, "deliveryCount", m.DeliveryCount, "bytes", len(m.Body))
			return nil, customhandler.NotImplemented(d.Name, "the consumer of queue "+d.Queue+" arrives with the backup/restore issues")
		}
		return nil, customhandler.NotImplemented(d.Name, "unknown trigger")
	}
}
