package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

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

// tableEnded adapts the run's concurrency after a table ended and moves
// the run on (next tables, or finalization).
func (e *Engine) tableEnded(ctx context.Context, t *runstate.Task) error {
	if t.Status == runstate.TaskDone && t.Throttled == 0 {
		if _, err := e.state.ModifyRun(ctx, t.Environment, t.Run, func(r *runstate.Run) (bool, error) {
			if r.Concurrency >= r.MaxConcurrency {
				return false, nil
			}
			r.Concurrency++
			return true, nil
		}); err != nil {
			return err
		}
	}
	e.log.InfoContext(ctx, "table ended", "run", t.Run, "table", t.Table, "status", t.Status, "records", t.Records,
		"deletes", t.Deletes, "pages", len(t.Pages), "mode", t.Mode, "reason", t.Reason)
	return e.afterTable(ctx, t.Environment, t.Run)
}

// afterTable launches queued tables while the run has free slots, or
// finalizes the run when every table has ended. Safe to call any number of
// times (replays call it again).
func (e *Engine) afterTable(ctx context.Context, env, runID string) error {
	run, err := e.state.GetRun(ctx, env, runID)
	if err != nil {
		return err
	}
	if run.Status != runstate.RunRunning && run.Status != runstate.RunFinalizing {
		return nil
	}
	tasks, err := e.state.ListTasks(ctx, runID)
	if err != nil {
		return err
	}
	active, ended := 0, 0
	var queued []*runstate.Task
	for _, t := range tasks {
		switch {
		case runstate.TaskTerminal(t.Status):
			ended++
		case t.Status == runstate.TaskQueued:
			queued = append(queued, t)
		case t.Status == runstate.TaskRunning:
			active++
		}
	}
	if ended == len(tasks) {
		return e.finalize(ctx, run, tasks)
	}
	slots := max(run.Concurrency, 1) - active
	if slots <= 0 || len(queued) == 0 {
		return nil
	}
	launch := queued[:min(slots, len(queued))]
	// Send first, then mark running: a crash in between leaves a message
	// for a queued task (ExtractPage accepts it), never a running task
	// without a message.
	msgs := make([]messaging.Message, 0, len(launch))
	for _, t := range launch {
		m := ExtractMessage{Environment: env, Run: runID, Table: t.Table, Page: 1, Identity: t.Order}
		body, _ := encode(m)
		msgs = append(msgs, messaging.Message{ID: extractID(m), Body: body})
	}
	if err := e.sender.Send(ctx, messaging.QueueExtract, msgs...); err != nil {
		return err
	}
	for _, t := range launch {
		if _, err := e.state.ModifyTask(ctx, runID, t.Table, func(x *runstate.Task) (bool, error) {
			if x.Status != runstate.TaskQueued {
				return false, nil
			}
			x.Status = runstate.TaskRunning
			return true, nil
		}); err != nil {
			return err
		}
	}
	return nil
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
