package backup

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// Queues lists the queues whose messages Handle processes.
func Queues() []string {
	return []string{messaging.QueueScan, messaging.QueueExtract, messaging.QueueFiles}
}

// Handle processes one message of a backup queue: the single dispatch of
// the Functions triggers and of every in-process pump. delivery is the
// message's delivery count (1 on the first delivery; less counts as 1). A
// body that does not decode is an error like any other: the host redelivers
// it and finally dead-letters it, where it can be looked at.
func (e *Engine) Handle(ctx context.Context, queue string, body []byte, delivery int) error {
	delivery = max(delivery, 1)
	switch queue {
	case messaging.QueueScan:
		m, err := DecodeScan(body)
		if err != nil {
			return err
		}
		return e.Scan(ctx, m, delivery)
	case messaging.QueueExtract:
		m, err := DecodeExtract(body)
		if err != nil {
			return err
		}
		return e.ExtractPage(ctx, m, delivery)
	case messaging.QueueFiles:
		m, err := DecodeFiles(body)
		if err != nil {
			return err
		}
		return e.DownloadFiles(ctx, m, delivery)
	}
	return fmt.Errorf("backup: queue %q is not a backup queue (want one of %v)", queue, Queues())
}

// ErrRunEnded is returned by Cancel for a run that already ended.
var ErrRunEnded = errors.New("backup: run already ended")

// Cancel ends a run in progress as cancelled with reason and frees its
// environment for the next run. Messages of the run still queued find it
// ended and do nothing. A run that already ended is returned unchanged with
// ErrRunEnded; an unknown run is runstate.ErrNotFound.
func (e *Engine) Cancel(ctx context.Context, env, runID, reason string) (*runstate.Run, error) {
	run, ended, err := e.endRunAs(ctx, env, runID, runstate.RunCancelled, reason)
	if err != nil {
		return nil, err
	}
	if ended {
		return run, fmt.Errorf("run %s is %s: %w", run.ID, run.Status, ErrRunEnded)
	}
	e.log.InfoContext(ctx, "run cancelled", "environment", env, "run", runID, "reason", reason)
	return run, nil
}

// endRun ends a run in progress as failed with reason (endRunAs).
func (e *Engine) endRun(ctx context.Context, env, runID, reason string) (run *runstate.Run, ended bool, err error) {
	return e.endRunAs(ctx, env, runID, runstate.RunFailed, reason)
}

// endRunAs ends a run in progress with status (failed or cancelled) and
// reason and releases its environment; it reports whether the run had
// already ended (then nothing is written). The one way a run ends outside
// finalization: cancel, a scan that cannot succeed, a scan message that
// could not be queued, a stalled run without tasks.
func (e *Engine) endRunAs(ctx context.Context, env, runID, status, reason string) (run *runstate.Run, ended bool, err error) {
	run, err = e.state.ModifyRun(ctx, env, runID, func(r *runstate.Run) (bool, error) {
		if runstate.Terminal(r.Status) {
			ended = true
			return false, nil
		}
		r.Status, r.Reason, r.FinishedAt = status, reason, e.opts.Now().UTC()
		return true, nil
	})
	if err != nil || ended {
		return run, ended, err
	}
	return run, false, e.state.ReleaseRun(ctx, env, runID)
}

// Run reads one run of env (runstate.ErrNotFound when there is none).
func (e *Engine) Run(ctx context.Context, env, id string) (*runstate.Run, error) {
	return e.state.GetRun(ctx, env, id)
}

// Runs lists env's runs, oldest first.
func (e *Engine) Runs(ctx context.Context, env string) ([]*runstate.Run, error) {
	return e.state.ListRuns(ctx, env)
}

// Tasks lists the table tasks of a run.
func (e *Engine) Tasks(ctx context.Context, run string) ([]*runstate.Task, error) {
	return e.state.ListTasks(ctx, run)
}

// LatestRun returns env's newest run, or nil when it has none.
func (e *Engine) LatestRun(ctx context.Context, env string) (*runstate.Run, error) {
	return e.state.LatestRun(ctx, env)
}

// LatestRuns returns the newest run of every environment that has one, by
// environment id, in one read of the run store.
func (e *Engine) LatestRuns(ctx context.Context) (map[string]*runstate.Run, error) {
	return e.state.LatestRuns(ctx)
}
