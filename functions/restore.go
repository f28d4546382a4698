package functions

import (
	"context"
	"errors"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/customhandler"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
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
		a.Log.ErrorContext(ctx, "restore message dropped", "messageId", m.MessageID, "error", err.Error())
		return &customhandler.Result{Logs: []string{"dropped: " + err.Error()}}, nil
	}
	eng, err := a.restoreEngine(ctx)
	if err != nil {
		return nil, err
	}
	if err := eng.Handle(ctx, msg, max(m.DeliveryCount, 1)); err != nil {
		return nil, err
	}
	return &customhandler.Result{Logs: []string{"restore " + msg.Job + " " + string(msg.Step)}}, nil
}

// restoreEngine returns a.Restore, building it on first use from the
// storage clients, the sender and a.RestoreDirectory (default: the
// connections of a.Connections).
func (a *App) restoreEngine(ctx context.Context) (*restore.Engine, error) {
	a.restoreMu.Lock()
	defer a.restoreMu.Unlock()
	if a.Restore != nil {
		return a.Restore, nil
	}
	dir := a.RestoreDirectory
	if dir == nil && a.Connections != nil {
		dir = connectionsRestoreDir{a.Connections}
	}
	if dir == nil {
		return nil, errors.New("restore engine: no environment directory wired (App.RestoreDirectory or App.Connections)")
	}
	if a.Storage == nil || a.Sender == nil {
		return nil, errors.New("restore engine: storage and sender are required")
	}
	st, err := restore.OpenStore(ctx, a.Storage.Tables)
	if err != nil {
		return nil, err
	}
	a.Restore = restore.New(dir, st, backupformat.NewAzureBlobs(a.Storage.Blob), a.Sender, restore.Options{Log: a.Log})
	return a.Restore, nil
}

// connectionsRestoreDir gives the restore engine the clients of an
// environment's connection, one per identity.
type connectionsRestoreDir struct{ svc *connections.Service }

func (d connectionsRestoreDir) Clients(ctx context.Context, env string) ([]*dataverse.Client, error) {
	cs, err := d.svc.Clients(ctx, env)
	if err != nil {
		return nil, err
	}
	out := make([]*dataverse.Client, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Client)
	}
	return out, nil
}
