package backup

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/retry"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// inlineFileColumns are tables whose records carry file content in a
// base64 column; the engine moves it into content-addressed blobs.
var inlineFileColumns = map[string]string{
	"annotation":             "documentbody",
	"activitymimeattachment": "body",
}

// Scan handles a scan message: metadata snapshot, tables in scope, table
// tasks, then the first extract messages. deliveryCount is the message's.
func (e *Engine) Scan(ctx context.Context, m ScanMessage, deliveryCount int) error {
	run, err := e.state.GetRun(ctx, m.Environment, m.Run)
	if errors.Is(err, runstate.ErrNotFound) {
		e.log.WarnContext(ctx, "scan of an unknown run dropped", "environment", m.Environment, "run", m.Run)
		return nil
	}
	if err != nil {
		return err
	}
	if runstate.Terminal(run.Status) {
		return nil
	}
	if run.Status != runstate.RunPending {
		// A replay after the tasks were written: make sure work is under way.
		return e.afterTable(ctx, m.Environment, m.Run)
	}
	err = e.scan(ctx, run, m)
	if err == nil {
		return nil
	}
	if ra, ok := dataverse.IsThrottled(err); ok {
		m.Attempt++
		body, _ := encode(m)
		e.log.WarnContext(ctx, "scan throttled, re-queued", "run", m.Run, "retryAfter", ra)
		if err := e.sender.Send(ctx, messaging.QueueScan, messaging.Message{ID: fmt.Sprintf("scan-%s-a%d", m.Run, m.Attempt), Body: body, Delay: ra}); err != nil {
			return err
		}
		_, err := e.state.ModifyRun(ctx, m.Environment, m.Run, func(r *runstate.Run) (bool, error) { r.Throttled++; return true, nil })
		return err
	}
	if deliveryCount >= e.opts.MaxDeliveries || !dataverse.Classify(err).Retryable() {
		e.log.ErrorContext(ctx, "scan failed, run failed", "run", m.Run, "error", err)
		return e.failRun(ctx, m.Environment, m.Run, "scan failed: "+err.Error())
	}
	return err
}

func (e *Engine) failRun(ctx context.Context, env, run, reason string) error {
	_, _, err := e.endRun(ctx, env, run, reason)
	return err
}

// tableMeta is the per-table part of the snapshot the planner uses.
type tableMeta struct {
	def dataverse.EntityDefinition
	// modifiedOn: the table has a modifiedon column (the mid-load re-read
	// filters on it).
	modifiedOn bool
	files      []string
	image      []string
}

// snapshot is the metadata snapshot (metadata.json.gz). While a scan is
// throttled, what it has read so far is kept in metadata.partial.json.gz so
// the re-queued scan goes on from there instead of starting over.
type snapshot struct {
	FormatVersion     int                                   `json:"formatVersion"`
	Environment       string                                `json:"environment"`
	Run               string                                `json:"run"`
	TakenAt           time.Time                             `json:"takenAt"`
	DopHint           int                                   `json:"dopHint"`
	EntityDefinitions json.RawMessage                       `json:"entityDefinitions"`
	Tables            map[string]map[string]json.RawMessage `json:"tables"`
	// MetadataRead is how the tables' metadata was read (MetadataFull or
	// MetadataIncremental), MetadataReason why; MetadataBase is the run whose
	// snapshot the changes were applied to. MetadataVersionStamp is the
	// RetrieveMetadataChanges ServerVersionStamp the next run reads changes
	// from (scanmeta.go). ScanRequests counts the scan's Web API requests.
	MetadataRead         string `json:"metadataRead,omitempty"`
	MetadataReason       string `json:"metadataReason,omitempty"`
	MetadataBase         string `json:"metadataBase,omitempty"`
	MetadataVersionStamp string `json:"metadataVersionStamp,omitempty"`
	ScanRequests         int    `json:"scanRequests,omitempty"`
}

func (e *Engine) scan(ctx context.Context, run *runstate.Run, m ScanMessage) error {
	env, err := e.dir.GetEnvironment(ctx, m.Environment)
	if err != nil {
		return fmt.Errorf("environment %s: %w", m.Environment, err)
	}
	clients, err := e.clientsFor(ctx, env.ID)
	if err != nil {
		return err
	}
	snap, err := e.loadPartial(ctx, env.ID, run.ID)
	if err != nil {
		return err
	}
	// Requests go round the identities, each retried in the invocation when
	// it fails transiently. On a throttle, or a failure that outlasts the
	// retries, what was read is kept and the scan goes on from there:
	// re-queued with the Retry-After, or delivered again by the host.
	read := func(fn func(c *dataverse.Client) error) error {
		_, err := retry.Do(ctx, inInvocation, func() error {
			snap.ScanRequests++
			return fn(clients[snap.ScanRequests%len(clients)])
		})
		return err
	}
	keepPartial := func(err error) error {
		if perr := e.savePartial(ctx, snap); perr != nil {
			return perr
		}
		return err
	}
	if len(snap.EntityDefinitions) == 0 || string(snap.EntityDefinitions) == "null" {
		var who dataverse.WhoAmIResponse
		if err := read(func(*dataverse.Client) (err error) { who, err = clients[0].WhoAmI(ctx); return err }); err != nil {
			return keepPartial(err)
		}
		var raw json.RawMessage
		if err := read(func(c *dataverse.Client) (err error) { _, raw, err = c.EntityDefinitions(ctx); return err }); err != nil {
			return keepPartial(err)
		}
		snap.DopHint, snap.EntityDefinitions = who.DopHint, raw
	}
	var defs []dataverse.EntityDefinition
	if err := json.Unmarshal(snap.EntityDefinitions, &defs); err != nil {
		return fmt.Errorf("entity definitions: %w", err)
	}
	slices.SortFunc(defs, func(a, b dataverse.EntityDefinition) int { return strings.Compare(a.LogicalName, b.LogicalName) })
	var names []string
	for _, d := range defs {
		if inScope(d.LogicalName, env.Policy) {
			names = append(names, d.LogicalName)
		}
	}

	base, err := e.baseManifest(ctx, env.ID, run.ID)
	if err != nil {
		return err
	}
	now := e.opts.Now().UTC()
	kind, fullReason := backupformat.KindFull, ""
	if base != nil && !env.Policy.AlwaysFull && !run.FullRequested {
		kind = backupformat.KindIncremental
		if env.Policy.FullEvery > 0 {
			if t, ok := runTime(oldestFull(base)); ok && now.Sub(t) >= env.Policy.FullEvery {
				// The periodic full run reads the metadata in full too, so a
				// snapshot kept up to date by changes is renewed now and then.
				kind, fullReason = backupformat.KindFull, "periodic full run"
			}
		}
	}
	if err := e.readTableMetadata(ctx, snap, names, base, fullReason, read); err != nil {
		return keepPartial(err)
	}

	// Tables in scope, with their skip reasons.
	type planned struct {
		meta   tableMeta
		reason string
	}
	var plan []planned
	for _, d := range defs {
		if !inScope(d.LogicalName, env.Policy) {
			continue
		}
		p := planned{meta: tableMeta{def: d}}
		if d.TableType == "Virtual" {
			p.reason = "virtual table: its data lives outside Dataverse"
		}
		if d.EntitySetName == "" || d.PrimaryIDAttribute == "" {
			p.reason = "no entity set or primary key in metadata"
		}
		var attrs []dataverse.AttributeDefinition
		if raw := snap.Tables[d.LogicalName][partAttributes]; raw != nil {
			if err := json.Unmarshal(raw, &attrs); err != nil {
				return fmt.Errorf("attributes of %s: %w", d.LogicalName, err)
			}
		}
		for _, a := range attrs {
			if a.LogicalName == "modifiedon" {
				p.meta.modifiedOn = true
			}
			if a.IsFile() {
				p.meta.files = append(p.meta.files, a.LogicalName)
			}
			if a.IsImage() {
				p.meta.image = append(p.meta.image, a.LogicalName)
			}
		}
		plan = append(plan, p)
	}
	snap.TakenAt = now
	metaRef, err := e.writeMetadata(ctx, env.ID, run.ID, snap)
	if err != nil {
		return err
	}
	_ = e.blobs.Delete(ctx, backupformat.ContainerBackups, backupformat.MetadataPartialBlob(env.ID, run.ID))

	var tasks []*runstate.Task
	for i, p := range plan {
		d := p.meta.def
		t := &runstate.Task{Run: run.ID, Table: d.LogicalName, Environment: env.ID, Order: i, EntitySet: d.EntitySetName,
			PrimaryID: d.PrimaryIDAttribute, Status: runstate.TaskQueued, ChangeTracking: d.ChangeTrackingEnabled,
			FileColumns: p.meta.files, ImageColumns: p.meta.image, InlineFiles: inlineFileColumns[d.LogicalName]}
		if p.reason != "" {
			t.Status, t.Reason = runstate.TaskSkipped, p.reason
			tasks = append(tasks, t)
			continue
		}
		t.Mode, t.Phase, t.Chain = backupformat.ModeFull, backupformat.PhaseFull, []string{run.ID}
		if kind == backupformat.KindIncremental && d.ChangeTrackingEnabled {
			bt := base.Table(d.LogicalName)
			// Without modifiedon the changes made during the full read cannot be
			// re-read by date: such a table is read in full once more instead.
			rereadable := bt == nil || !bt.RereadPending || p.meta.modifiedOn
			if bt != nil && bt.Status == backupformat.TableDone && bt.DeltaLink != "" && bt.ChangeTracking && rereadable {
				t.Mode, t.Phase = backupformat.ModeDelta, backupformat.PhaseDelta
				t.DeltaLink = bt.DeltaLink
				t.Chain = append(slices.Clone(bt.Chain), run.ID)
				t.FullStartedAt = bt.FullStartedAt
				if bt.RereadPending && !bt.FullStartedAt.IsZero() {
					t.RereadFrom = bt.FullStartedAt.Add(-e.opts.ClockSkew)
				}
				// Deletions made during the full read after the record's page
				// was read are in neither the full read nor this delta (the
				// delta link comes with the last page): the first incremental
				// sweeps the ids to find them. Tables read in full (no change
				// tracking, expired token, no modifiedon) need no sweep.
				t.Sweep = bt.RereadPending
			}
		}
		tasks = append(tasks, t)
	}
	if err := e.state.AddTasks(ctx, tasks); err != nil {
		return err
	}
	e.rememberTaskNames(run.ID, tasks)
	hint := snap.DopHint
	if hint <= 0 {
		hint = 4
	}
	_, err = e.state.ModifyRun(ctx, env.ID, run.ID, func(r *runstate.Run) (bool, error) {
		if r.Status != runstate.RunPending {
			return false, nil
		}
		r.Status, r.Kind, r.StartedAt = runstate.RunRunning, kind, now
		if base != nil {
			r.BaseRun = base.Run
		}
		r.Tables = len(tasks)
		r.MaxConcurrency = min(e.opts.MaxConcurrency, max(hint, 1))
		r.Concurrency = r.MaxConcurrency
		r.Identities = len(clients)
		r.MetadataBlob, r.MetadataBytes, r.MetadataSHA256 = metaRef.Blob, metaRef.Bytes, metaRef.SHA256
		r.ScanRequests, r.MetadataRead, r.MetadataReason = snap.ScanRequests, snap.MetadataRead, snap.MetadataReason
		r.Tracked = true
		for _, t := range tasks {
			if runstate.TaskTerminal(t.Status) {
				r.Ended.Add(t.Order)
			}
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	e.log.InfoContext(ctx, "run scanned", "environment", env.ID, "run", run.ID, "kind", kind, "tables", len(tasks), "dopHint", snap.DopHint,
		"scanRequests", snap.ScanRequests, "metadataRead", snap.MetadataRead, "metadataReason", snap.MetadataReason)
	return e.afterTable(ctx, env.ID, run.ID)
}

func inScope(table string, p Policy) bool {
	if len(p.Include) > 0 && !slices.ContainsFunc(p.Include, func(s string) bool { return strings.EqualFold(s, table) }) {
		return false
	}
	return !slices.ContainsFunc(p.Exclude, func(s string) bool { return strings.EqualFold(s, table) })
}

func gzipJSON(v any) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	if err := json.NewEncoder(gz).Encode(v); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

func (e *Engine) loadPartial(ctx context.Context, env, run string) (*snapshot, error) {
	snap := &snapshot{FormatVersion: backupformat.FormatVersion, Environment: env, Run: run, Tables: map[string]map[string]json.RawMessage{}}
	rc, err := e.blobs.Get(ctx, backupformat.ContainerBackups, backupformat.MetadataPartialBlob(env, run))
	if errors.Is(err, blobstore.ErrNotFound) {
		return snap, nil
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	gz, err := gzip.NewReader(rc)
	if err != nil {
		return snap, nil // unreadable: start over
	}
	if err := json.NewDecoder(gz).Decode(snap); err != nil || snap.Tables == nil {
		return &snapshot{FormatVersion: backupformat.FormatVersion, Environment: env, Run: run, Tables: map[string]map[string]json.RawMessage{}}, nil
	}
	return snap, nil
}

func (e *Engine) savePartial(ctx context.Context, snap *snapshot) error {
	buf, err := gzipJSON(snap)
	if err != nil {
		return err
	}
	_, err = e.blobs.Put(ctx, backupformat.ContainerBackups, backupformat.MetadataPartialBlob(snap.Environment, snap.Run), buf, &blobstore.PutOptions{ContentType: "application/gzip"})
	return err
}

func (e *Engine) writeMetadata(ctx context.Context, env, run string, snap *snapshot) (backupformat.BlobRef, error) {
	buf, err := gzipJSON(snap)
	if err != nil {
		return backupformat.BlobRef{}, err
	}
	sum := sha256.Sum256(buf.Bytes())
	ref := backupformat.BlobRef{Blob: backupformat.MetadataBlob(env, run), Bytes: int64(buf.Len()), SHA256: hex.EncodeToString(sum[:])}
	_, err = e.blobs.Put(ctx, backupformat.ContainerBackups, ref.Blob, buf, &blobstore.PutOptions{ContentType: "application/gzip", IfNotExists: true})
	if errors.Is(err, blobstore.ErrExists) {
		// Another delivery of this scan (a duplicate, a crashed attempt, or
		// one that outlived its lock) stored a snapshot first: keep it and
		// record its checksum, so the run never names a blob that a later
		// delivery overwrote under it.
		return existingRef(ctx, e.blobs, ref.Blob)
	}
	if err != nil {
		return ref, fmt.Errorf("write metadata snapshot: %w", err)
	}
	return ref, nil
}

func existingRef(ctx context.Context, b blobstore.Store, name string) (backupformat.BlobRef, error) {
	rc, err := b.Get(ctx, backupformat.ContainerBackups, name)
	if err != nil {
		return backupformat.BlobRef{}, fmt.Errorf("read metadata snapshot: %w", err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return backupformat.BlobRef{}, fmt.Errorf("read metadata snapshot: %w", err)
	}
	return backupformat.BlobRef{Blob: name, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// baseManifest returns the manifest of env's latest finished run with a
// manifest (succeeded or partial) before run, or nil.
func (e *Engine) baseManifest(ctx context.Context, env, run string) (*backupformat.Manifest, error) {
	runs, err := e.state.ListRuns(ctx, env)
	if err != nil {
		return nil, err
	}
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		if r.ID >= run || (r.Status != runstate.RunSucceeded && r.Status != runstate.RunPartial) {
			continue
		}
		m, err := backupformat.ReadManifest(ctx, e.blobs, env, r.ID)
		if errors.Is(err, blobstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	return nil, nil
}

func oldestFull(m *backupformat.Manifest) string {
	oldest := m.Run
	for _, t := range m.Tables {
		if len(t.Chain) > 0 && t.Chain[0] < oldest {
			oldest = t.Chain[0]
		}
	}
	return oldest
}

// runTime parses the time at the start of a run id.
func runTime(id string) (time.Time, bool) {
	n := len(runstate.RunIDTimeLayout)
	if len(id) < n {
		return time.Time{}, false
	}
	t, err := time.Parse(runstate.RunIDTimeLayout, id[:n])
	return t, err == nil
}
