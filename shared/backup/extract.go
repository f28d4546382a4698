package backup

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/retry"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// ExtractPage handles an extract message: reads page m.Page of the table,
// stores it, records it in the task and sends what comes next.
func (e *Engine) ExtractPage(ctx context.Context, m ExtractMessage, deliveryCount int) error {
	if ended, err := e.runEnded(ctx, m.Environment, m.Run); ended || err != nil {
		return err
	}
	t, err := e.state.GetTask(ctx, m.Run, m.Table)
	if errors.Is(err, runstate.ErrNotFound) {
		e.log.WarnContext(ctx, "extract for an unknown task dropped", "run", m.Run, "table", m.Table)
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case runstate.TaskTerminal(t.Status):
		// Replayed after the table ended: make sure the run goes on.
		return e.afterTable(ctx, m.Environment, m.Run, t)
	case t.Page >= m.Page:
		// Page already recorded (duplicate, or redelivery after a crash
		// between recording and sending): re-send what may be missing.
		if t.Page == m.Page && t.Sent < m.Page {
			if err := e.sendNext(ctx, t, m); err != nil {
				return err
			}
		}
		if t.Status == runstate.TaskFiles {
			return e.checkFiles(ctx, t)
		}
		return nil
	case t.Status == runstate.TaskFiles:
		return e.checkFiles(ctx, t)
	case t.Page < m.Page-1:
		e.log.WarnContext(ctx, "extract message ahead of its task dropped", "run", m.Run, "table", m.Table, "page", m.Page, "taskPage", t.Page)
		return nil
	}
	if t.Status == runstate.TaskQueued { // launched; its status write may not have happened
		t.Status = runstate.TaskRunning
	}

	clients, err := e.clientsFor(ctx, m.Environment)
	if err != nil {
		return err
	}
	c := clients[m.Identity%len(clients)]

	link, tracking := e.pageLink(t)
	var res pageResult
	_, err = retry.Do(ctx, inInvocation, func() (err error) {
		if t.Phase == backupformat.PhaseSweep {
			res, err = e.sweepPage(ctx, c, t, m.Page, link)
		} else {
			res, err = e.writePage(ctx, c, t, m.Page, link, tracking)
		}
		return err
	})
	if err != nil {
		return e.pageFailed(ctx, t, m, deliveryCount, err)
	}

	// Record the page; only the first writer of page m.Page wins. Usually
	// nobody wrote the task since it was read: one conditional write.
	recorded := false
	t, err = e.state.ModifyTaskFrom(ctx, t, func(t *runstate.Task) (bool, error) {
		recorded = false
		if t.Page != m.Page-1 || runstate.TaskTerminal(t.Status) {
			return false, nil
		}
		recorded = true
		e.applyPage(t, m.Page, res)
		if !hasFollowUp(t, m.Page) {
			t.Sent = m.Page // nothing to send after this page: no separate write for it
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	if !recorded {
		return nil // a duplicate got there first and carries on
	}
	e.log.DebugContext(ctx, "page stored", "run", m.Run, "table", m.Table, "page", m.Page, "records", res.stats.Records, "deletes", res.stats.Deletes)
	if res.sweep && t.Swept {
		e.log.InfoContext(ctx, "id sweep ended", "run", m.Run, "table", m.Table, "liveIds", t.SweepIDs, "backupIds", t.SweepBackupIDs, "tombstones", t.SweepTombstones)
		e.dropSweepIDs(ctx, t, m.Page)
	}
	if t.Sent < m.Page {
		if err := e.sendNext(ctx, t, m); err != nil {
			return err
		}
	}
	if t.Status == runstate.TaskFiles {
		return e.checkFiles(ctx, t)
	}
	if runstate.TaskTerminal(t.Status) {
		return e.tableEnded(ctx, t)
	}
	return nil
}

// pageLink returns the URL of the task's next page and whether change
// tracking is asked for.
func (e *Engine) pageLink(t *runstate.Task) (string, bool) {
	if t.NextLink != "" {
		return t.NextLink, t.Phase != backupformat.PhaseReread && t.Phase != backupformat.PhaseSweep && t.ChangeTracking
	}
	switch t.Phase {
	case backupformat.PhaseDelta:
		return t.DeltaLink, true
	case backupformat.PhaseReread:
		f := "modifiedon ge " + t.RereadFrom.UTC().Format("2006-01-02T15:04:05Z")
		return dataverse.CollectionQuery(t.EntitySet, nil, f), false
	case backupformat.PhaseSweep:
		return dataverse.CollectionQuery(t.EntitySet, []string{t.PrimaryID}, ""), false
	default:
		return dataverse.CollectionQuery(t.EntitySet, nil, ""), t.ChangeTracking
	}
}

type pageResult struct {
	stats    backupformat.PageStats
	etag     string
	page     dataverse.Page
	files    *backupformat.BlobRef
	fileRefs int
	started  time.Time
	// Id sweep pages (phase sweep): sweepIDs live ids read; on the last
	// page sweepBackup ids compared, sweepTombstones tombstones written, and
	// sweepPage says a page blob of tombstones was stored.
	sweep           bool
	sweepPage       bool
	sweepIDs        int64
	sweepBackup     int64
	sweepTombstones int64
}

// writePage reads one page and streams it into its blob. The page is
// decoded record by record and written through gzip into the upload as it
// arrives; a failure aborts the upload, so no partial blob is committed.
func (e *Engine) writePage(ctx context.Context, c *dataverse.Client, t *runstate.Task, n int, link string, tracking bool) (pageResult, error) {
	res := pageResult{started: e.opts.Now().UTC()}
	pr, pw := io.Pipe()
	type putResult struct {
		info blobstore.Info
		err  error
	}
	done := make(chan putResult, 1)
	name := backupformat.PageBlob(t.Environment, t.Run, t.Table, n)
	go func() {
		info, err := e.blobs.Put(ctx, backupformat.ContainerBackups, name, pr, &blobstore.PutOptions{ContentType: "application/x-ndjson+gzip"})
		pr.CloseWithError(err)
		done <- putResult{info, err}
	}()
	pwr := backupformat.NewPageWriter(pw)
	var refs []backupformat.FileRef
	pg, err := c.ReadPage(ctx, link, &dataverse.ReadOptions{MaxPageSize: e.opts.PageSize, TrackChanges: tracking}, func(ent dataverse.Entity) error {
		if ent.Deleted {
			return pwr.Write(backupformat.Record{ID: ent.ID, Op: backupformat.OpDelete})
		}
		info, fields, err := dataverse.ParseRecordInfo(ent.Raw, t.PrimaryID)
		if err != nil {
			return err
		}
		data := ent.Raw
		if t.InlineFiles != "" {
			var ref *backupformat.FileRef
			data, ref, err = e.moveInlineFile(ctx, t, info.ID, fields, data)
			if err != nil {
				return err
			}
			if ref != nil {
				refs = append(refs, *ref)
			}
		}
		return pwr.Write(backupformat.Record{ID: info.ID, Op: backupformat.OpUpsert, ETag: info.ETag, Version: info.Version, ModifiedOn: info.ModifiedOn, Data: data})
	})
	if err == nil {
		res.stats, err = pwr.Close()
	}
	if err != nil {
		pw.CloseWithError(err)
		<-done
		var fe *dataverse.FuncError
		if errors.As(err, &fe) {
			err = fe.Err
		}
		return res, err
	}
	pw.Close()
	pr2 := <-done
	if pr2.err != nil {
		return res, fmt.Errorf("store page %d of %s: %w", n, t.Table, pr2.err)
	}
	res.etag = pr2.info.ETag
	res.page = pg
	if t.InlineFiles != "" {
		ref, err := e.writeFileRefs(ctx, t, n, refs)
		if err != nil {
			return res, err
		}
		res.files, res.fileRefs = &ref, len(refs)
	}
	return res, nil
}

// moveInlineFile stores a base64 file column (annotation.documentbody) as a
// content-addressed blob and replaces it in the record by
// "<column>@cloudbackup.sha256".
func (e *Engine) moveInlineFile(ctx context.Context, t *runstate.Task, id string, fields map[string]json.RawMessage, raw json.RawMessage) (json.RawMessage, *backupformat.FileRef, error) {
	col := t.InlineFiles
	v, ok := fields[col]
	if !ok || string(v) == "null" {
		return raw, nil, nil
	}
	var b64 string
	if err := json.Unmarshal(v, &b64); err != nil || b64 == "" {
		return raw, nil, nil
	}
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return raw, nil, nil // not base64: keep the record as it came
	}
	sum, size, err := backupformat.PutFileBytes(ctx, e.blobs, data)
	if err != nil {
		return nil, nil, fmt.Errorf("store %s of %s %s: %w", col, t.Table, id, err)
	}
	delete(fields, col)
	fields[backupformat.FileHashKey(col)] = json.RawMessage(`"` + sum + `"`)
	out, err := json.Marshal(fields)
	if err != nil {
		return nil, nil, err
	}
	ref := &backupformat.FileRef{Table: t.Table, ID: id, Column: col, SHA256: sum, Size: size}
	var s string
	if json.Unmarshal(fields["filename"], &s) == nil {
		ref.FileName = s
	}
	if json.Unmarshal(fields["mimetype"], &s) == nil {
		ref.MimeType = s
	}
	return out, ref, nil
}

func (e *Engine) writeFileRefs(ctx context.Context, t *runstate.Task, n int, refs []backupformat.FileRef) (backupformat.BlobRef, error) {
	data := backupformat.EncodeFileRefs(refs)
	name := backupformat.FileRefsBlob(t.Environment, t.Run, t.Table, n)
	if _, err := e.blobs.Put(ctx, backupformat.ContainerBackups, name, bytesReader(data), &blobstore.PutOptions{ContentType: "application/x-ndjson"}); err != nil {
		return backupformat.BlobRef{}, fmt.Errorf("store file list of page %d of %s: %w", n, t.Table, err)
	}
	return backupformat.BlobRef{Blob: name, Bytes: int64(len(data)), SHA256: sha256hex(data)}, nil
}

// applyPage records page n in t and moves it to its next phase or end.
func (e *Engine) applyPage(t *runstate.Task, n int, res pageResult) {
	if t.Status == runstate.TaskQueued {
		t.Status = runstate.TaskRunning
	}
	if t.Mode == backupformat.ModeFull && t.FullStartedAt.IsZero() {
		t.FullStartedAt = res.started
	}
	t.Page = n
	if res.sweep {
		t.SweepIDs += res.sweepIDs
	}
	if !res.sweep || res.sweepPage {
		t.Pages = append(t.Pages, backupformat.PageRef{N: n, Phase: t.Phase, Blob: backupformat.PageBlob(t.Environment, t.Run, t.Table, n), PageStats: res.stats})
		t.PageETags = append(t.PageETags, res.etag)
		t.Records += res.stats.Records
		t.Deletes += res.stats.Deletes
		t.Bytes += res.stats.Bytes
	}
	if res.page.NextLink != "" {
		t.NextLink = res.page.NextLink
		return
	}
	t.NextLink = ""
	switch t.Phase {
	case backupformat.PhaseFull:
		if t.ChangeTracking {
			t.DeltaLink = res.page.DeltaLink
			t.RereadPending = true
		}
	case backupformat.PhaseDelta:
		if res.page.DeltaLink != "" {
			t.DeltaLink = res.page.DeltaLink
		}
		if !t.RereadFrom.IsZero() {
			t.Phase = backupformat.PhaseReread
			return
		}
		if t.Sweep {
			t.Phase, t.SweepFrom = backupformat.PhaseSweep, n+1
			return
		}
	case backupformat.PhaseReread:
		if t.Sweep {
			t.Phase, t.SweepFrom = backupformat.PhaseSweep, n+1
			return
		}
	case backupformat.PhaseSweep:
		t.Swept = true
		t.SweepBackupIDs, t.SweepTombstones = res.sweepBackup, res.sweepTombstones
	}
	// Every phase is read.
	if len(t.FileColumns)+len(t.ImageColumns) > 0 {
		t.Status = runstate.TaskFiles
	} else {
		t.Status = runstate.TaskDone
	}
}

// sendNext sends the continuation of page m.Page (if the table goes on) and
// the files message of the page (tables with file or image columns), then
// notes them sent.
func (e *Engine) sendNext(ctx context.Context, t *runstate.Task, m ExtractMessage) error {
	if len(t.FileColumns)+len(t.ImageColumns) > 0 && hasPage(t, m.Page) {
		fm := FilesMessage{Environment: m.Environment, Run: m.Run, Table: m.Table, Page: m.Page}
		body, _ := encode(fm)
		if err := e.sender.Send(ctx, messaging.QueueFiles, messaging.Message{ID: filesID(fm), Body: body}); err != nil {
			return err
		}
	}
	if t.Status == runstate.TaskRunning {
		next := ExtractMessage{Environment: m.Environment, Run: m.Run, Table: m.Table, Page: m.Page + 1, Identity: m.Identity + 1}
		body, _ := encode(next)
		if err := e.sender.Send(ctx, messaging.QueueExtract, messaging.Message{ID: extractID(next), Body: body}); err != nil {
			return err
		}
	}
	_, err := e.state.ModifyTask(ctx, t.Run, t.Table, func(x *runstate.Task) (bool, error) {
		if x.Sent >= m.Page {
			return false, nil
		}
		x.Sent = m.Page
		return true, nil
	})
	return err
}

// hasFollowUp reports whether sendNext has anything to send after page n:
// the page's files message, or the next page's message.
func hasFollowUp(t *runstate.Task, n int) bool {
	return len(t.FileColumns)+len(t.ImageColumns) > 0 && hasPage(t, n) || t.Status == runstate.TaskRunning
}

// hasPage reports whether page n of t stored records (id sweep pages but
// the last store none).
func hasPage(t *runstate.Task, n int) bool {
	return slices.ContainsFunc(t.Pages, func(p backupformat.PageRef) bool { return p.N == n })
}

// pageFailed decides what a failed page read means.
func (e *Engine) pageFailed(ctx context.Context, t *runstate.Task, m ExtractMessage, deliveryCount int, err error) error {
	if ra, ok := dataverse.IsThrottled(err); ok {
		return e.throttled(ctx, t, m, ra)
	}
	if t.Phase == backupformat.PhaseDelta && dataverse.IsChangeTrackingExpired(err) {
		return e.fallbackToFull(ctx, t, m, "delta token expired: "+err.Error())
	}
	if t.Page == 0 && dataverse.IsRetrieveMultipleRefused(err) {
		return e.endTask(ctx, t, runstate.TaskSkipped, "the table refuses RetrieveMultiple: "+errText(err))
	}
	if deliveryCount >= e.opts.MaxDeliveries || !dataverse.Classify(err).Retryable() {
		e.log.ErrorContext(ctx, "table failed", "run", m.Run, "table", m.Table, "page", m.Page, "deliveries", deliveryCount, "error", err)
		return e.endTask(ctx, t, runstate.TaskFailed, fmt.Sprintf("page %d failed after %d deliveries: %s", m.Page, deliveryCount, errText(err)))
	}
	return fmt.Errorf("extract page %d of %s: %w", m.Page, m.Table, err)
}

func errText(err error) string {
	s := err.Error()
	if len(s) > 500 {
		s = s[:500]
	}
	return s
}

// throttled re-sends the page message after Retry-After on the next
// identity, counts the throttle, and halves the run's concurrency.
func (e *Engine) throttled(ctx context.Context, t *runstate.Task, m ExtractMessage, retryAfter time.Duration) error {
	m.Attempt++
	m.Identity++
	body, _ := encode(m)
	if err := e.sender.Send(ctx, messaging.QueueExtract, messaging.Message{ID: extractID(m), Body: body, Delay: retryAfter}); err != nil {
		return err
	}
	if _, err := e.state.ModifyTask(ctx, t.Run, t.Table, func(x *runstate.Task) (bool, error) {
		x.Throttled++
		return true, nil
	}); err != nil {
		return err
	}
	_, err := e.state.ModifyRun(ctx, t.Environment, t.Run, func(r *runstate.Run) (bool, error) {
		r.Throttled++
		r.Concurrency = max(1, r.Concurrency/2)
		return true, nil
	})
	e.log.InfoContext(ctx, "page throttled, re-queued", "run", m.Run, "table", m.Table, "page", m.Page, "retryAfter", retryAfter)
	return err
}

// fallbackToFull turns a delta table into a full read (expired token).
func (e *Engine) fallbackToFull(ctx context.Context, t *runstate.Task, m ExtractMessage, reason string) error {
	var dropped []backupformat.PageRef
	applied := false
	_, err := e.state.ModifyTask(ctx, t.Run, t.Table, func(x *runstate.Task) (bool, error) {
		if x.Page != m.Page-1 || x.Mode != backupformat.ModeDelta {
			return false, nil
		}
		applied = true
		dropped = x.Pages
		x.Mode, x.Phase, x.NextLink, x.DeltaLink = backupformat.ModeFull, backupformat.PhaseFull, "", ""
		x.RereadFrom, x.FullStartedAt = time.Time{}, time.Time{}
		x.Sweep = false // a full read needs no id sweep
		x.Chain = []string{x.Run}
		x.Pages, x.PageETags = nil, nil
		x.Records, x.Deletes, x.Bytes = 0, 0, 0
		x.FallbackReason = reason
		return true, nil
	})
	if err != nil || !applied {
		return err // not applied: a duplicate did it and carries on
	}
	for _, p := range dropped {
		_ = e.blobs.Delete(ctx, backupformat.ContainerBackups, p.Blob)
	}
	e.log.WarnContext(ctx, "falling back to a full read", "run", m.Run, "table", m.Table, "reason", reason)
	m.Attempt++
	body, _ := encode(m)
	return e.sender.Send(ctx, messaging.QueueExtract, messaging.Message{ID: extractID(m), Body: body})
}

// endTask marks a task failed or skipped (unless it already ended).
func (e *Engine) endTask(ctx context.Context, t *runstate.Task, status, reason string) error {
	t, err := e.state.ModifyTask(ctx, t.Run, t.Table, func(x *runstate.Task) (bool, error) {
		if runstate.TaskTerminal(x.Status) {
			return false, nil
		}
		x.Status, x.Reason = status, reason
		return true, nil
	})
	if err != nil {
		return err
	}
	return e.tableEnded(ctx, t)
}

// runEnded reports a run that ended (or was cancelled, or deleted): its
// messages are dropped.
func (e *Engine) runEnded(ctx context.Context, env, run string) (bool, error) {
	r, err := e.state.GetRun(ctx, env, run)
	if errors.Is(err, runstate.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return runstate.Terminal(r.Status), nil
}

// inInvocation retries a page read or file download inside the invocation
// when it failed transiently (reset, truncated body, 5xx, an expired token):
// a few attempts with jittered backoff, then the message is delivered again.
// A throttle is not waited here (MaxAfter < 0): the message is re-sent with
// Retry-After as its delay, on the next identity.
var inInvocation = retry.Policy{Attempts: 3, Base: 100 * time.Millisecond, Cap: 2 * time.Second, MaxAfter: -1, Decide: dataverse.Decide}
