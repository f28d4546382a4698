package backupformat

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
)

// TableIDs streams the ids of the records in the state of table as of run:
// the ids TableState would pass to fn, without decoding or holding the
// records (each page line is decoded into its id and op only). Ids of the
// full read come in its order, ids created after it follow sorted.
//
// Memory: one entry per record changed by the delta runs of the chain (id
// and whether it was deleted); the full read is streamed.
func TableIDs(ctx context.Context, b blobstore.Store, env, run, table string, fn func(id string) error) error {
	full, deltas, err := tableChain(ctx, b, env, run, table)
	if err != nil {
		return err
	}
	// deleted[id]: the last change of id along the chain is a tombstone.
	// (TableState's version rule only chooses between upserts, so the last
	// op decides whether an id is in the state.)
	deleted := map[string]bool{}
	for _, p := range deltas {
		if err := readBlobIDs(ctx, b, p.Blob, func(id, op string) error {
			deleted[id] = op == OpDelete
			return nil
		}); err != nil {
			return err
		}
	}
	emitted := map[string]bool{}
	for _, p := range full {
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

func readBlobIDs(ctx context.Context, b blobstore.Store, name string, fn func(id, op string) error) error {
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
