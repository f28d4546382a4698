package functions

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/config"
	"github.com/cloudbackup-d365/cloudbackup/shared/customhandler"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// EnvMaxDeliveryCount is the app setting telling the engine the queues'
// max delivery count (Service Bus maxDeliveryCount, the dev host's
// MaxDeliveryCount): on that delivery a failing page marks its table failed
// instead of failing once more. Default 10.
const EnvMaxDeliveryCount = config.EnvMaxDeliveryCount

// trigger returns the handler of a non-HTTP function: decode, call the
// engine, answer. Returning an error answers non-2xx: the host retries.
func (a *App) trigger(d Definition) customhandler.TriggerFunc {
	return func(ctx context.Context, inv *customhandler.Invocation) (*customhandler.Result, error) {
		switch d.Trigger {
		case TimerTrigger:
			t, err := inv.Timer(TimerBinding)
			if err != nil {
				return nil, err
			}
			a.Log.InfoContext(ctx, "timer fired", "function", d.Name, "pastDue", t.IsPastDue)
		case ServiceBusTrigger:
			m, err := inv.ServiceBusMessage(MessageBinding)
			if err != nil {
				return nil, err
			}
			a.Log.DebugContext(ctx, "message received", "function", d.Name, "queue", d.Queue,
				"messageId", m.MessageID, "deliveryCount", m.DeliveryCount, "bytes", len(m.Body))
			return a.onMessage(ctx, d, m)
		}
		return a.onTimer(ctx, d)
	}
}

func (a *App) onTimer(ctx context.Context, d Definition) (*customhandler.Result, error) {
	eng, err := a.backupEngine(ctx)
	if err != nil {
		return nil, err
	}
	switch d.Name {
	case ScheduleBackups:
		res, err := eng.Schedule(ctx)
		if err != nil {
			return nil, err
		}
		return &customhandler.Result{ReturnValue: res, Logs: []string{fmt.Sprintf("started %d run(s)", len(res.Started))}}, nil
	case ApplyRetention:
		res, err := eng.ApplyRetention(ctx)
		if err != nil {
			return nil, err
		}
		return &customhandler.Result{ReturnValue: res, Logs: []string{fmt.Sprintf("deleted %d run(s)", len(res.Deleted))}}, nil
	}
	return nil, customhandler.NotImplemented(d.Name, "unknown timer")
}

func (a *App) onMessage(ctx context.Context, d Definition, m *customhandler.ServiceBusMessage) (*customhandler.Result, error) {
	if d.Name == RestoreRecords {
		return nil, customhandler.NotImplemented(d.Name, "the consumer of queue "+d.Queue+" arrives with the restore issue")
	}
	eng, err := a.backupEngine(ctx)
	if err != nil {
		return nil, err
	}
	deliveries := max(m.DeliveryCount, 1)
	switch d.Name {
	case ScanEnvironment:
		msg, err := backup.DecodeScan(m.Body)
		if err != nil {
			return nil, err
		}
		return nil, eng.Scan(ctx, msg, deliveries)
	case ExtractPage:
		msg, err := backup.DecodeExtract(m.Body)
		if err != nil {
			return nil, err
		}
		return nil, eng.ExtractPage(ctx, msg, deliveries)
	case DownloadFiles:
		msg, err := backup.DecodeFiles(m.Body)
		if err != nil {
			return nil, err
		}
		return nil, eng.DownloadFiles(ctx, msg, deliveries)
	}
	return nil, customhandler.NotImplemented(d.Name, "unknown queue consumer")
}

// backupEngine returns a.Backup, building it on first use from the storage
// clients, the sender and a.BackupDirectory (default: the registered
// environments of a.Connections) when cmd/handler did not set it.
// A failed build (e.g. Table Storage unreachable) is retried on next use.
func (a *App) backupEngine(ctx context.Context) (*backup.Engine, error) {
	a.backupMu.Lock()
	defer a.backupMu.Unlock()
	if a.Backup != nil {
		return a.Backup, nil
	}
	dir := a.BackupDirectory
	if dir == nil && a.Connections != nil {
		dir = backup.ConnectionsDirectory(a.Connections)
	}
	if dir == nil {
		return nil, errors.New("backup engine: no environment directory wired (App.BackupDirectory or App.Connections)")
	}
	if a.Storage == nil || a.Sender == nil {
		return nil, errors.New("backup engine: storage and sender are required")
	}
	st, err := runstate.Open(ctx, a.Storage.Tables)
	if err != nil {
		return nil, err
	}
	o := backup.Options{Log: a.Log}
	if a.Config != nil {
		o.MaxDeliveries = a.Config.MaxDeliveryCount
	} else if n, err := strconv.Atoi(os.Getenv(EnvMaxDeliveryCount)); err == nil && n > 0 {
		o.MaxDeliveries = n
	}
	a.Backup = backup.New(dir, st, backupformat.NewAzureBlobs(a.Storage.Blob), a.Sender, o)
	return a.Backup, nil
}
