package backupformat

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

// TableIDs streams the ids of the records in the state of table as of run:
// the ids TableState would pass to fn, without decoding or holding the
// records (each page line is decoded into its id and op only). Ids of the
// full read come in its order, ids created after it follow sorted.
//
// Memory: one entry per record changed by the delta runs of the chain (id
// and whether it was deleted); the full read is streamed.
func TableIDs(ctx context.Context, b Blobs, env, run, table string, fn func(id string) error) error {
	m, err := ReadManifest(ctx, b, env, run)
	if err != nil {
		return err
	}
	tm := m.Table(table)
	if tm == nil || tm.Status != TableDone || len(tm.Chain) == 0 {
		reason := "not in the run"
		if tm != nil {
			reason = tm.Status
		}
		return fmt.Errorf("%w: %s in run %s (%s)", ErrTableNotInRun, table, run, reason)
	}
	// deleted[id]: the last change of id along the chain is a tombstone.
	// (TableState's version rule only chooses between upserts, so the last
	// op decides whether an id is in the state.)
	deleted := map[string]bool{}
	for _, r := range tm.Chain[1:] {
		dm := m
		if r != run {
			if dm, err = ReadManifest(ctx, b, env, r); err != nil {
				return fmt.Errorf("run %s needs %s: %w", run, r, err)
			}
		}
		dt := dm.Table(table)
		if dt == nil || dt.Status != TableDone {
			return fmt.Errorf("run %s needs table %s of run %s, which is not there", run, table, r)
		}
		for _, p := range dt.Pages {
			if err := readBlobIDs(ctx, b, p.Blob, func(id, op string) error {
				deleted[id] = op == OpDelete
				return nil
			}); err != nil {
				return err
			}
		}
	}
	fm := m
	if tm.Chain[0] != run {
		if fm, err = ReadManifest(ctx, b, env, tm.Chain[0]); err != nil {
			return fmt.Errorf("run %s needs %s: %w", run, tm.Chain[0], err)
		}
	}
	ft := fm.Table(table)
	if ft == nil || ft.Status != TableDone || ft.Mode != ModeFull {
		return fmt.Errorf("run %s: the chain of %s starts at run %s, which has no full read of it", run, table, tm.Chain[0])
	}
	emitted := map[string]bool{}
	for _, p := range ft.Pages {
		err := readBlobIDs(ctx, b, p.Blob, func(id, op string) error {
			if op != OpUpsert {
				return nil
			}
			if del, ok := deleted[id]; ok {
				emitted[id] = true
				if del {
					return nil
				}
			}
			return fn(id)
		})
		if err != nil {
			return err
		}
	}
	var created []string
	for id, del := range deleted {
		if !emitted[id] && !del {
			created = append(created, id)
		}
	}
	sort.Strings(created)
	for _, id := range created {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

// ReadPageIDs decodes a stored page like ReadPage but passes only each
// record's id and op (the record's data is skipped, not kept).
func ReadPageIDs(r io.Reader, fn func(id, op string) error) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("backupformat: page is not gzip: %w", err)
	}
	defer gz.Close()
	br := bufio.NewReaderSize(gz, 64<<10)
	for line := 1; ; line++ {
		b, err := readLine(br)
		if len(b) > 0 {
			var rec struct {
				ID string `json:"id"`
				Op string `json:"op"`
			}
			if err := json.Unmarshal(b, &rec); err != nil {
				return fmt.Errorf("backupformat: page line %d: %w", line, err)
			}
			if err := fn(rec.ID, rec.Op); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("backupformat: read page: %w", err)
		}
	}
}

func readBlobIDs(ctx context.Context, b Blobs, name string, fn func(id, op string) error) error {
	rc, err := b.Get(ctx, ContainerBackups, name)
	if err != nil {
		return fmt.Errorf("page %s: %w", name, err)
	}
	defer rc.Close()
	if err := ReadPageIDs(rc, fn); err != nil {
		return fmt.Errorf("page %s: %w", name, err)
	}
	return nil
}
