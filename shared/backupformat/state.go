package backupformat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
)

// ErrTableNotInRun is returned by TableState when the run holds no usable
// state of the table (not in scope, skipped or failed in that run).
var ErrTableNotInRun = errors.New("backupformat: table has no state in this run")

// TableState streams the state of table as of run: the records of the full
// read that starts the table's chain, with the changes of every later run of
// the chain applied (changed records replaced, tombstoned records removed,
// created records added). fn is called once per live record, as an upsert
// Record; records of the full read come in its order (primary key), records
// created after it follow sorted by id.
//
// Memory: the changes of the delta runs are held (one entry per changed
// record); the full read is streamed page by page.
func TableState(ctx context.Context, b blobstore.Store, env, run, table string, fn func(Record) error) error {
	full, deltas, err := tableChain(ctx, b, env, run, table)
	if err != nil {
		return err
	}
	// Changes of the delta runs, oldest first; later runs win.
	overlay := map[string]Record{}
	for _, p := range deltas {
		if err := readBlobPage(ctx, b, p.Blob, func(rec Record) error {
			applyChange(overlay, rec)
			return nil
		}); err != nil {
			return err
		}
	}
	emitted := map[string]bool{}
	for _, p := range full {
		err := readBlobPage(ctx, b, p.Blob, func(rec Record) error {
			if rec.Op != OpUpsert {
				return nil
			}
			if ch, ok := overlay[rec.ID]; ok {
				emitted[rec.ID] = true
				if ch.Op == OpDelete {
					return nil
				}
				if ch.Version >= rec.Version || ch.Version == 0 {
					return fn(ch)
				}
			}
			return fn(rec)
		})
		if err != nil {
			return err
		}
	}
	var created []string
	for id, ch := range overlay {
		if !emitted[id] && ch.Op == OpUpsert {
			created = append(created, id)
		}
	}
	sort.Strings(created)
	for _, id := range created {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(overlay[id]); err != nil {
			return err
		}
	}
	return nil
}

// tableChain resolves the chain of table as of run, as TableState and
// TableIDs read it: the pages of the full read that starts it, and the pages
// of every later run of the chain, oldest first. Every link must be there.
func tableChain(ctx context.Context, b blobstore.Store, env, run, table string) (full, deltas []PageRef, err error) {
	m, err := ReadManifest(ctx, b, env, run)
	if err != nil {
		return nil, nil, err
	}
	tm := m.Table(table)
	if tm == nil || tm.Status != TableDone || len(tm.Chain) == 0 {
		reason := "not in the run"
		if tm != nil {
			reason = tm.Status
			if tm.Reason != "" {
				reason += ": " + tm.Reason
			}
		}
		return nil, nil, fmt.Errorf("%w: %s in run %s (%s)", ErrTableNotInRun, table, run, reason)
	}
	manifest := func(r string) (*Manifest, error) {
		if r == run {
			return m, nil
		}
		dm, err := ReadManifest(ctx, b, env, r)
		if err != nil {
			return nil, fmt.Errorf("run %s needs %s: %w", run, r, err)
		}
		return dm, nil
	}
	for _, r := range tm.Chain[1:] {
		dm, err := manifest(r)
		if err != nil {
			return nil, nil, err
		}
		dt := dm.Table(table)
		if dt == nil || dt.Status != TableDone {
			return nil, nil, fmt.Errorf("run %s needs table %s of run %s, which is not there", run, table, r)
		}
		deltas = append(deltas, dt.Pages...)
	}
	fm, err := manifest(tm.Chain[0])
	if err != nil {
		return nil, nil, err
	}
	ft := fm.Table(table)
	if ft == nil || ft.Status != TableDone || ft.Mode != ModeFull {
		return nil, nil, fmt.Errorf("run %s: the chain of %s starts at run %s, which has no full read of it", run, table, tm.Chain[0])
	}
	return ft.Pages, deltas, nil
}

// applyChange folds one change into the overlay: a tombstone always applies;
// an upsert replaces what is there unless that is a newer version.
func applyChange(overlay map[string]Record, rec Record) {
	prev, ok := overlay[rec.ID]
	if rec.Op == OpUpsert && ok && prev.Op == OpUpsert && prev.Version > rec.Version && rec.Version != 0 {
		return
	}
	overlay[rec.ID] = rec
}

func readBlobPage(ctx context.Context, b blobstore.Store, name string, fn func(Record) error) error {
	rc, err := b.Get(ctx, ContainerBackups, name)
	if err != nil {
		return fmt.Errorf("page %s: %w", name, err)
	}
	defer rc.Close()
	if err := ReadPage(rc, fn); err != nil {
		return fmt.Errorf("page %s: %w", name, err)
	}
	return nil
}

// ReadTablePages streams the records stored for table in run itself (not the
// reconstructed state): for a delta run, exactly its changes and tombstones.
func ReadTablePages(ctx context.Context, b blobstore.Store, m *Manifest, table string, fn func(PageRef, Record) error) error {
	tm := m.Table(table)
	if tm == nil {
		return fmt.Errorf("%w: %s in run %s", ErrTableNotInRun, table, m.Run)
	}
	for _, p := range tm.Pages {
		if err := readBlobPage(ctx, b, p.Blob, func(r Record) error { return fn(p, r) }); err != nil {
			return err
		}
	}
	return nil
}

// Problem is one verification failure.
type Problem struct {
	Blob   string `json:"blob"`
	Reason string `json:"reason"`
}

// Verify re-reads every blob the manifest of run names (pages, file lists,
// metadata, and the file contents they reference) and checks size and sha256.
// It returns the problems found; an error means verification could not run.
func Verify(ctx context.Context, b blobstore.Store, env, run string) ([]Problem, error) {
	m, err := ReadManifest(ctx, b, env, run)
	if err != nil {
		return nil, err
	}
	var probs []Problem
	check := func(container string, ref BlobRef) {
		if ref.Blob == "" {
			return
		}
		sum, n, err := hashBlob(ctx, b, container, ref.Blob)
		switch {
		case err != nil:
			probs = append(probs, Problem{Blob: ref.Blob, Reason: err.Error()})
		case n != ref.Bytes:
			probs = append(probs, Problem{Blob: ref.Blob, Reason: fmt.Sprintf("size %d, manifest says %d", n, ref.Bytes)})
		case sum != ref.SHA256:
			probs = append(probs, Problem{Blob: ref.Blob, Reason: fmt.Sprintf("sha256 %s, manifest says %s", sum, ref.SHA256)})
		}
	}
	if m.Metadata != nil {
		check(ContainerBackups, *m.Metadata)
	}
	for _, t := range m.Tables {
		for _, p := range t.Pages {
			check(ContainerBackups, BlobRef{Blob: p.Blob, Bytes: p.Bytes, SHA256: p.SHA256})
		}
		for _, f := range t.Files {
			check(ContainerBackups, f)
			if err := ReadFileRefs(ctx, b, f.Blob, func(fr FileRef) error {
				check(ContainerFiles, BlobRef{Blob: FileBlob(fr.SHA256), Bytes: fr.Size, SHA256: fr.SHA256})
				return nil
			}); err != nil {
				probs = append(probs, Problem{Blob: f.Blob, Reason: err.Error()})
			}
		}
	}
	return probs, nil
}

func hashBlob(ctx context.Context, b blobstore.Store, container, name string) (string, int64, error) {
	rc, err := b.Get(ctx, container, name)
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// HashBlob returns the sha256 (hex) and size of a stored blob.
func HashBlob(ctx context.Context, b blobstore.Store, container, name string) (string, int64, error) {
	return hashBlob(ctx, b, container, name)
}
