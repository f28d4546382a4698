package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// tableEnded logs a table's end and moves the run on (afterTable also
// adapts the concurrency to it).
func (e *Engine) tableEnded(ctx context.Context, t *runstate.Task) error {
	e.log.InfoContext(ctx, "table ended", "run", t.Run, "table", t.Table, "status", t.Status, "records", t.Records,
		"deletes", t.Deletes, "pages", len(t.Pages), "mode", t.Mode, "reason", t.Reason)
	return e.afterTable(ctx, t.Environment, t.Run, t)
}

// relaunchAfter is how old a claimed launch must be before any move of the
// run sends its message again (a claim whose sender died without being
// delivered again).
const relaunchAfter = 2 * time.Minute

// afterTable moves a run on after the tables in ended ended (none: after
// the scan, or a replay): it records their end in the run row (the run's
// Ended set; a table that finished without throttling raises the
// concurrency by one), claims queued tables for the free slots in Order
// (Launched, Launching), sends their first extract messages, and finalizes
// the run once every table has ended. It reads and writes the run row only
// (and lists the tasks once per process and run for their names), so its
// cost does not grow with the number of tables. Safe to call any number of
// times: marking an end is idempotent, a claim is an ETag-conditional write
// (two callers never claim the same table), and a claim stays in Launching
// until its message is sent, so a caller that died in between is made good
// by its redelivery (same cause) or, after relaunchAfter, by any later move.
func (e *Engine) afterTable(ctx context.Context, env, runID string, ended ...*runstate.Task) error {
	causes := map[int]bool{}
	for _, t := range ended {
		causes[t.Order] = true
	}
	if len(ended) == 0 {
		causes[-1] = true
	}
	now := e.opts.Now().UTC()
	var resync *runstate.Run
	for {
		var send []runstate.Launch
		needResync := false
		run, err := e.state.ModifyRun(ctx, env, runID, func(r *runstate.Run) (bool, error) {
			send, needResync = nil, false
			if r.Status != runstate.RunRunning {
				return false, nil
			}
			changed := false
			if !r.Tracked {
				// A run scanned before the run row kept its tasks' progress.
				if resync == nil {
					needResync = true
					return false, nil
				}
				r.Tracked, r.Launched, r.Ended, changed = true, resync.Launched, resync.Ended, true
			}
			for _, t := range ended {
				if !r.Ended.Add(t.Order) {
					continue
				}
				changed = true
				if t.Status == runstate.TaskDone && t.Throttled == 0 && r.Concurrency < r.MaxConcurrency {
					r.Concurrency++
				}
			}
			active := 0
			for i := range r.Tables {
				if r.Launched.Has(i) && !r.Ended.Has(i) {
					active++
				}
			}
			for i := 0; i < r.Tables && active < max(r.Concurrency, 1); i++ {
				if !r.Launched.Has(i) && !r.Ended.Has(i) {
					r.Launched.Add(i)
					r.Launching = append(r.Launching, runstate.Launch{Order: i, Cause: first(causes), At: now})
					active++
					changed = true
				}
			}
			for _, l := range r.Launching {
				if causes[l.Cause] || now.Sub(l.At) >= relaunchAfter {
					send = append(send, l)
				}
			}
			return changed, nil
		})
		if errors.Is(err, runstate.ErrNotFound) {
			return nil // the run was deleted
		}
		if err != nil {
			return err
		}
		if needResync {
			if resync, err = e.progressFromTasks(ctx, run); err != nil {
				return err
			}
			continue
		}
		if run.Status == runstate.RunFinalizing || run.Status == runstate.RunRunning && run.Ended.Len() >= run.Tables {
			return e.finalizeIfEnded(ctx, run)
		}
		if len(send) == 0 || run.Status != runstate.RunRunning {
			return nil
		}
		return e.launch(ctx, run, send)
	}
}

// first is the cause a new claim is recorded under: the ended table's
// order (the lowest when several), or -1.
func first(causes map[int]bool) int {
	out := -1
	for c := range causes {
		if out == -1 || c < out {
			out = c
		}
	}
	return out
}

// launch sends the first extract message of each claimed table, then
// clears the claims. Send first: a crash in between leaves a claim that is
// sent again (a duplicate page message is harmless), never a claimed table
// without a message.
func (e *Engine) launch(ctx context.Context, run *runstate.Run, claims []runstate.Launch) error {
	names, err := e.taskNames(ctx, run.ID)
	if err != nil {
		return err
	}
	msgs := make([]messaging.Message, 0, len(claims))
	for _, l := range claims {
		if l.Order >= len(names) {
			return fmt.Errorf("run %s: no task of order %d (%d tasks)", run.ID, l.Order, len(names))
		}
		m := ExtractMessage{Environment: run.Environment, Run: run.ID, Table: names[l.Order], Page: 1, Identity: l.Order}
		body, _ := encode(m)
		msgs = append(msgs, messaging.Message{ID: extractID(m), Body: body})
	}
	if err := e.sender.Send(ctx, messaging.QueueExtract, msgs...); err != nil {
		return err
	}
	sent := map[int]bool{}
	for _, l := range claims {
		sent[l.Order] = true
	}
	_, err = e.state.ModifyRun(ctx, run.Environment, run.ID, func(r *runstate.Run) (bool, error) {
		n := len(r.Launching)
		r.Launching = slices.DeleteFunc(r.Launching, func(l runstate.Launch) bool { return sent[l.Order] })
		return len(r.Launching) != n, nil
	})
	return err
}

// finalizeIfEnded finalizes a run whose every table ended, checked against
// the tasks themselves; when they disagree with the run row (which cannot
// happen unless a row was edited), the row is rebuilt from the tasks.
func (e *Engine) finalizeIfEnded(ctx context.Context, run *runstate.Run) error {
	tasks, err := e.state.ListTasks(ctx, run.ID)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if !runstate.TaskTerminal(t.Status) {
			e.log.WarnContext(ctx, "run row says every table ended but a task has not; progress rebuilt from the tasks",
				"run", run.ID, "table", t.Table, "status", t.Status)
			fixed, err := e.progressFromTasks(ctx, run)
			if err != nil {
				return err
			}
			_, err = e.state.ModifyRun(ctx, run.Environment, run.ID, func(r *runstate.Run) (bool, error) {
				r.Tracked, r.Launched, r.Ended = true, fixed.Launched, fixed.Ended
				return true, nil
			})
			return err
		}
	}
	e.forgetTaskNames(run.ID)
	return e.finalize(ctx, run, tasks)
}

// progressFromTasks rebuilds a run's Launched and Ended sets from its tasks.
func (e *Engine) progressFromTasks(ctx context.Context, run *runstate.Run) (*runstate.Run, error) {
	tasks, err := e.state.ListTasks(ctx, run.ID)
	if err != nil {
		return nil, err
	}
	out := &runstate.Run{Tracked: true}
	for _, t := range tasks {
		if runstate.TaskTerminal(t.Status) {
			out.Ended.Add(t.Order)
		}
		if t.Status != runstate.TaskQueued {
			out.Launched.Add(t.Order)
		}
	}
	e.rememberTaskNames(run.ID, tasks)
	return out, nil
}

// taskNames returns the tables of a run's tasks by Order: listed once per
// process and run (they never change after the scan).
func (e *Engine) taskNames(ctx context.Context, runID string) ([]string, error) {
	e.mu.Lock()
	names, ok := e.names[runID]
	e.mu.Unlock()
	if ok {
		return names, nil
	}
	tasks, err := e.state.ListTasks(ctx, runID)
	if err != nil {
		return nil, err
	}
	return e.rememberTaskNames(runID, tasks), nil
}

func (e *Engine) rememberTaskNames(runID string, tasks []*runstate.Task) []string {
	names := make([]string, len(tasks))
	for _, t := range tasks {
		if t.Order >= 0 && t.Order < len(names) {
			names[t.Order] = t.Table
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.names) >= 64 { // runs of many environments at once: start over
		e.names = map[string][]string{}
	}
	e.names[runID] = names
	return names
}

func (e *Engine) forgetTaskNames(runID string) {
	e.mu.Lock()
	delete(e.names, runID)
	e.mu.Unlock()
}

// finalize writes the manifest and ends the run, once.
func (e *Engine) finalize(ctx context.Context, run *runstate.Run, tasks []*runstate.Task) error {
	run, err := e.state.ModifyRun(ctx, run.Environment, run.ID, func(r *runstate.Run) (bool, error) {
		if r.Status != runstate.RunRunning {
			return false, nil
		}
		r.Status = runstate.RunFinalizing
		return true, nil
	})
	if err != nil {
		return err
	}
	if run.Status != runstate.RunFinalizing {
		return nil
	}
	now := e.opts.Now().UTC()
	m := &backupformat.Manifest{Environment: run.Environment, Run: run.ID, Kind: run.Kind, Trigger: run.Trigger,
		StartedAt: run.CreatedAt, FinishedAt: now}
	if run.MetadataBlob != "" {
		m.Metadata = &backupformat.BlobRef{Blob: run.MetadataBlob, Bytes: run.MetadataBytes, SHA256: run.MetadataSHA256}
	}
	for _, t := range tasks {
		tm, err := e.tableManifest(ctx, t)
		if err != nil {
			return err
		}
		m.Tables = append(m.Tables, tm)
	}
	m.Normalize()
	switch {
	case m.Totals.Failed == 0:
		m.Status = runstate.RunSucceeded
	case m.Totals.Failed < m.Totals.Tables-m.Totals.Skipped:
		m.Status = runstate.RunPartial
	default:
		m.Status = runstate.RunFailed
	}
	if err := backupformat.WriteManifest(ctx, e.blobs, m); err != nil {
		return fmt.Errorf("write manifest of run %s: %w", run.ID, err)
	}
	run, err = e.state.ModifyRun(ctx, run.Environment, run.ID, func(r *runstate.Run) (bool, error) {
		if runstate.Terminal(r.Status) {
			return false, nil
		}
		tt := m.Totals
		r.Status, r.FinishedAt = m.Status, now
		r.Done = tt.Tables - tt.Failed - tt.Skipped
		r.Failed, r.Skipped = tt.Failed, tt.Skipped
		r.Records, r.Deletes, r.Pages, r.Bytes = tt.Records, tt.Deletes, tt.Pages, tt.Bytes
		r.Files, r.FileBytes = tt.Files, tt.FileBytes
		// The run's own counter also holds the scan's 429s, which no table
		// task sees; the tasks' sum only guards against a lost increment.
		r.Throttled = max(r.Throttled, tt.Throttled)
		if tt.Failed > 0 {
			var names []string
			for _, t := range m.Tables {
				if t.Status == backupformat.TableFailed {
					names = append(names, t.Name)
				}
			}
			r.Reason = fmt.Sprintf("%d table(s) failed: %s", tt.Failed, strings.Join(names, ", "))
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	e.log.InfoContext(ctx, "run finished", "environment", run.Environment, "run", run.ID, "status", run.Status, "kind", run.Kind,
		"tables", m.Totals.Tables, "records", run.Records, "deletes", run.Deletes, "files", run.Files, "bytes", run.Bytes,
		"throttled", run.Throttled, "seconds", run.Seconds(now))
	return e.state.ReleaseRun(ctx, run.Environment, run.ID)
}

// tableManifest builds a table's manifest entry from its task. Each page
// blob's ETag is compared with the one recorded when it was stored: a
// different ETag means a duplicate invocation rewrote the page after it was
// recorded, and the page is hashed and counted again from the blob itself.
func (e *Engine) tableManifest(ctx context.Context, t *runstate.Task) (backupformat.TableManifest, error) {
	tm := backupformat.TableManifest{Name: t.Table, EntitySet: t.EntitySet, Reason: t.Reason, Mode: t.Mode,
		FallbackReason: t.FallbackReason, ChangeTracking: t.ChangeTracking, Throttled: t.Throttled, Pages: []backupformat.PageRef{}}
	switch t.Status {
	case runstate.TaskDone:
		tm.Status = backupformat.TableDone
	case runstate.TaskSkipped:
		tm.Status = backupformat.TableSkipped
		return tm, nil
	default:
		tm.Status = backupformat.TableFailed
		if tm.Reason == "" {
			tm.Reason = "did not finish"
		}
		return tm, nil
	}
	tm.Chain, tm.DeltaLink, tm.FullStartedAt = t.Chain, t.DeltaLink, t.FullStartedAt
	tm.RereadPending = t.Mode == backupformat.ModeFull && t.RereadPending
	if t.Swept {
		tm.Sweep = &backupformat.Sweep{LiveIDs: t.SweepIDs, BackupIDs: t.SweepBackupIDs, Tombstones: t.SweepTombstones}
	}
	for i, p := range t.Pages {
		info, err := e.blobs.Stat(ctx, backupformat.ContainerBackups, p.Blob)
		if err != nil {
			return tm, fmt.Errorf("page %s: %w", p.Blob, err)
		}
		if i >= len(t.PageETags) || info.ETag != t.PageETags[i] {
			fixed, err := e.restat(ctx, p)
			if err != nil {
				return tm, err
			}
			p = fixed
		}
		tm.Pages = append(tm.Pages, p)
		tm.Records += p.Records
		tm.Deletes += p.Deletes
		tm.Bytes += p.Bytes
	}
	// File lists: one per page for tables with files.
	if len(t.FileColumns)+len(t.ImageColumns) > 0 || t.InlineFiles != "" {
		for _, p := range t.Pages {
			name := backupformat.FileRefsBlob(t.Environment, t.Run, t.Table, p.N)
			sum, n, err := backupformat.HashBlob(ctx, e.blobs, backupformat.ContainerBackups, name)
			if err != nil {
				return tm, fmt.Errorf("file list %s: %w", name, err)
			}
			tm.Files = append(tm.Files, backupformat.BlobRef{Blob: name, Bytes: n, SHA256: sum})
			if err := backupformat.ReadFileRefs(ctx, e.blobs, name, func(fr backupformat.FileRef) error {
				tm.FileCount++
				tm.FileBytes += fr.Size
				return nil
			}); err != nil {
				return tm, err
			}
		}
	}
	return tm, nil
}

func (e *Engine) restat(ctx context.Context, p backupformat.PageRef) (backupformat.PageRef, error) {
	sum, n, err := backupformat.HashBlob(ctx, e.blobs, backupformat.ContainerBackups, p.Blob)
	if err != nil {
		return p, err
	}
	p.SHA256, p.Bytes, p.Records, p.Deletes = sum, n, 0, 0
	rc, err := e.blobs.Get(ctx, backupformat.ContainerBackups, p.Blob)
	if err != nil {
		return p, err
	}
	defer rc.Close()
	err = backupformat.ReadPage(rc, func(r backupformat.Record) error {
		if r.Op == backupformat.OpDelete {
			p.Deletes++
		} else {
			p.Records++
		}
		return nil
	})
	return p, err
}

// checkFiles ends a task in the files state once every page has its file list.
func (e *Engine) checkFiles(ctx context.Context, t *runstate.Task) error {
	have, err := blobstore.Collect(e.blobs.List(ctx, backupformat.ContainerBackups, backupformat.TablePrefix(t.Environment, t.Run, t.Table)+"files-"))
	if err != nil {
		return err
	}
	got := map[string]bool{}
	for _, b := range have {
		got[b.Name] = true
	}
	for _, p := range t.Pages {
		if !got[backupformat.FileRefsBlob(t.Environment, t.Run, t.Table, p.N)] {
			return nil // downloads outstanding
		}
	}
	t, err = e.state.ModifyTask(ctx, t.Run, t.Table, func(x *runstate.Task) (bool, error) {
		if x.Status != runstate.TaskFiles {
			return false, nil
		}
		x.Status = runstate.TaskDone
		return true, nil
	})
	if err != nil {
		return err
	}
	if t.Status != runstate.TaskDone {
		return nil
	}
	return e.tableEnded(ctx, t)
}
