package functions

import (
	"context"
	"fmt"

	"github.com/cloudbackup-d365/cloudbackup/shared/customhandler"
)

// timer returns the handler of a timer function: log the firing, call the
// engine, answer what it did. An error answers non-2xx (the host logs it;
// the next firing tries again).
func (a *App) timer(d Definition) customhandler.TriggerFunc {
	return func(ctx context.Context, inv *customhandler.Invocation) (*customhandler.Result, error) {
		t, err := inv.Timer(TimerBinding)
		if err != nil {
			return nil, err
		}
		a.log.InfoContext(ctx, "timer fired", "function", d.Name, "pastDue", t.IsPastDue)
		switch d.Name {
		case ScheduleBackups:
			res, err := a.backup.Schedule(ctx)
			if err != nil {
				return nil, err
			}
			return &customhandler.Result{ReturnValue: res, Logs: []string{fmt.Sprintf("started %d run(s)", len(res.Started))}}, nil
		case ApplyRetention:
			res, err := a.backup.ApplyRetention(ctx)
			if err != nil {
				return nil, err
			}
			return &customhandler.Result{ReturnValue: res, Logs: []string{fmt.Sprintf("deleted %d run(s)", len(res.Deleted))}}, nil
		}
		return nil, fmt.Errorf("timer %s has no handler", d.Name)
	}
}

// backupMessage returns the handler of a backup queue's consumer: the
// engine decodes and handles the message. An error answers non-2xx: the
// host redelivers, with a higher delivery count.
func (a *App) backupMessage(d Definition) customhandler.TriggerFunc {
	return func(ctx context.Context, inv *customhandler.Invocation) (*customhandler.Result, error) {
		m, err := inv.ServiceBusMessage(MessageBinding)
		if err != nil {
			return nil, err
		}
		a.log.DebugContext(ctx, "message received", "function", d.Name, "queue", d.Queue,
			"messageId", m.MessageID, "deliveryCount", m.DeliveryCount, "bytes", len(m.Body))
		return nil, a.backup.Handle(ctx, d.Queue, m.Body, m.DeliveryCount)
	}
}
