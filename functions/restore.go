package functions

import (
	"context"

	"github.com/cloudbackup-d365/cloudbackup/shared/customhandler"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
)

// restoreRecords handles the RestoreRecords queue trigger: one step of a
// restore job (plan, one chunk, finish). An error makes the host redeliver.
func (a *App) restoreRecords(ctx context.Context, inv *customhandler.Invocation) (*customhandler.Result, error) {
	m, err := inv.ServiceBusMessage(MessageBinding)
	if err != nil {
		return nil, err
	}
	msg, err := restore.DecodeMessage(m.Body)
	if err != nil {
		// Never valid, whatever the delivery: drop it with a log line.
		a.log.ErrorContext(ctx, "restore message dropped", "messageId", m.MessageID, "error", err.Error())
		return &customhandler.Result{Logs: []string{"dropped: " + err.Error()}}, nil
	}
	if err := a.restore.Handle(ctx, msg, max(m.DeliveryCount, 1)); err != nil {
		return nil, err
	}
	return &customhandler.Result{Logs: []string{"restore " + msg.Job + " " + string(msg.Step)}}, nil
}
