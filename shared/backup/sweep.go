package backup

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// The id sweep (phase sweep) closes the gap the mid-load re-read leaves for
// deletions: a record deleted during a full read, after its page was read,
// is in the full read, and the next delta does not report the deletion (the
// delta link comes with the last page, so its version is later). On the
// first incremental after a full read, after the delta and re-read phases,
// the engine pages through the table selecting only the primary key (one
// request per SweepPageSize ids, no annotations) and writes a tombstone for
// every id in the previous run's state (less this run's own tombstones) that
// the sweep did not see.
//
// Each sweep page but the last stores its ids (16 bytes each) in
// SweepIDsBlob, written if-not-exists: a duplicate delivery of the page
// finds the blob and records the next link stored in it, so the ids stored
// and the link the sweep goes on from always agree. The last page loads the
// previous state's ids (one 16-byte key per record; the only per-table
// memory), removes the ids of the stored pages and its own, and writes what
// is left as the tombstones of page n (no page when nothing is left).

// sweepPage reads page n of the id sweep from link.
func (e *Engine) sweepPage(ctx context.Context, c *dataverse.Client, t *runstate.Task, n int, link string) (pageResult, error) {
	res := pageResult{started: e.opts.Now().UTC(), sweep: true}
	var ids []idKey
	pg, err := c.ReadPage(ctx, link, &dataverse.ReadOptions{MaxPageSize: e.opts.SweepPageSize, Annotations: "-*"}, func(ent dataverse.Entity) error {
		info, _, err := dataverse.ParseRecordInfo(ent.Raw, t.PrimaryID)
		if err != nil {
			return err
		}
		k, _ := keyOf(info.ID)
		ids = append(ids, k)
		return nil
	})
	if err != nil {
		var fe *dataverse.FuncError
		if errors.As(err, &fe) {
			err = fe.Err
		}
		return res, err
	}
	res.page = pg
	if pg.NextLink != "" {
		next, count, err := e.putSweepIDs(ctx, t, n, link, pg.NextLink, ids)
		if err != nil {
			return res, err
		}
		res.page.NextLink, res.sweepIDs = next, count
		return res, nil
	}
	// Last page: compare with the previous state.
	res.sweepIDs = int64(len(ids))
	cand, err := e.sweepCandidates(ctx, t)
	if err != nil {
		return res, err
	}
	res.sweepBackup = int64(len(cand.keys))
	for k := t.SweepFrom; k < n; k++ {
		if err := e.readSweepIDs(ctx, t, k, func(id idKey) { delete(cand.keys, id) }); err != nil {
			return res, err
		}
	}
	for _, id := range ids {
		delete(cand.keys, id)
	}
	gone := cand.names()
	res.sweepTombstones = int64(len(gone))
	if len(gone) == 0 {
		return res, nil
	}
	var buf bytes.Buffer
	pw := backupformat.NewPageWriter(&buf)
	for _, id := range gone {
		if err := pw.Write(backupformat.Record{ID: id, Op: backupformat.OpDelete}); err != nil {
			return res, err
		}
	}
	if res.stats, err = pw.Close(); err != nil {
		return res, err
	}
	name := backupformat.PageBlob(t.Environment, t.Run, t.Table, n)
	info, err := e.blobs.Put(ctx, backupformat.ContainerBackups, name, &buf, &blobstore.PutOptions{ContentType: "application/x-ndjson+gzip"})
	if err != nil {
		return res, fmt.Errorf("store sweep tombstones of %s: %w", t.Table, err)
	}
	res.etag, res.sweepPage = info.ETag, true
	return res, nil
}

// sweepCandidates returns the ids of the table's state at the previous run
// of its chain, less the ids this run's pages (delta, re-read) tombstoned.
func (e *Engine) sweepCandidates(ctx context.Context, t *runstate.Task) (*idSet, error) {
	if len(t.Chain) < 2 {
		return nil, fmt.Errorf("sweep of %s: the chain %v has no previous run", t.Table, t.Chain)
	}
	prev := t.Chain[len(t.Chain)-2]
	s := &idSet{keys: map[idKey]struct{}{}, odd: map[idKey]string{}}
	if err := backupformat.TableIDs(ctx, e.blobs, t.Environment, prev, t.Table, func(id string) error {
		s.add(id)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("sweep of %s: state of run %s: %w", t.Table, prev, err)
	}
	for _, p := range t.Pages {
		if p.Deletes == 0 {
			continue
		}
		rc, err := e.blobs.Get(ctx, backupformat.ContainerBackups, p.Blob)
		if err != nil {
			return nil, fmt.Errorf("sweep of %s: page %s: %w", t.Table, p.Blob, err)
		}
		err = backupformat.ReadPageIDs(rc, func(id, op string) error {
			if op == backupformat.OpDelete {
				k, _ := keyOf(id)
				delete(s.keys, k)
			}
			return nil
		})
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("sweep of %s: page %s: %w", t.Table, p.Blob, err)
		}
	}
	return s, nil
}

// sweepHeader is the first line of a SweepIDsBlob.
type sweepHeader struct {
	From string `json:"from"`
	Next string `json:"next"`
	IDs  int64  `json:"ids"`
}

// putSweepIDs stores the ids of sweep page n (read from link, going on at
// next) unless a delivery of the same page stored them first; it returns the
// next link and id count of the blob that stands.
func (e *Engine) putSweepIDs(ctx context.Context, t *runstate.Task, n int, link, next string, ids []idKey) (string, int64, error) {
	hdr, _ := json.Marshal(sweepHeader{From: link, Next: next, IDs: int64(len(ids))})
	data := make([]byte, 0, len(hdr)+1+16*len(ids))
	data = append(append(data, hdr...), '\n')
	for _, id := range ids {
		data = append(data, id[:]...)
	}
	name := backupformat.SweepIDsBlob(t.Environment, t.Run, t.Table, n)
	opts := &blobstore.PutOptions{ContentType: "application/octet-stream", IfNotExists: true}
	_, err := e.blobs.Put(ctx, backupformat.ContainerBackups, name, bytes.NewReader(data), opts)
	if errors.Is(err, blobstore.ErrExists) {
		h, herr := e.sweepIDsHeader(ctx, name)
		if herr == nil && h.From == link && h.Next != "" {
			return h.Next, h.IDs, nil
		}
		// Left by something else than a delivery of this page: replace it.
		opts.IfNotExists = false
		_, err = e.blobs.Put(ctx, backupformat.ContainerBackups, name, bytes.NewReader(data), opts)
	}
	if err != nil {
		return "", 0, fmt.Errorf("store sweep ids of page %d of %s: %w", n, t.Table, err)
	}
	return next, int64(len(ids)), nil
}

func (e *Engine) sweepIDsHeader(ctx context.Context, name string) (sweepHeader, error) {
	var h sweepHeader
	rc, err := e.blobs.Get(ctx, backupformat.ContainerBackups, name)
	if err != nil {
		return h, err
	}
	defer rc.Close()
	line, err := bufio.NewReader(rc).ReadBytes('\n')
	if err != nil {
		return h, err
	}
	return h, json.Unmarshal(line, &h)
}

// readSweepIDs streams the ids of sweep page n.
func (e *Engine) readSweepIDs(ctx context.Context, t *runstate.Task, n int, fn func(idKey)) error {
	name := backupformat.SweepIDsBlob(t.Environment, t.Run, t.Table, n)
	rc, err := e.blobs.Get(ctx, backupformat.ContainerBackups, name)
	if err != nil {
		return fmt.Errorf("sweep ids %s: %w", name, err)
	}
	defer rc.Close()
	br := bufio.NewReader(rc)
	line, err := br.ReadBytes('\n')
	var h sweepHeader
	if err == nil {
		err = json.Unmarshal(line, &h)
	}
	if err != nil {
		return fmt.Errorf("sweep ids %s: header: %w", name, err)
	}
	var k idKey
	for i := int64(0); i < h.IDs; i++ {
		if _, err := io.ReadFull(br, k[:]); err != nil {
			return fmt.Errorf("sweep ids %s: id %d of %d: %w", name, i, h.IDs, err)
		}
		fn(k)
	}
	return nil
}

// dropSweepIDs deletes the id blobs of a finished sweep (best effort: the
// run's retention deletes what is left).
func (e *Engine) dropSweepIDs(ctx context.Context, t *runstate.Task, last int) {
	for k := t.SweepFrom; k < last; k++ {
		_ = e.blobs.Delete(ctx, backupformat.ContainerBackups, backupformat.SweepIDsBlob(t.Environment, t.Run, t.Table, k))
	}
}

// idKey is a record id in 16 bytes: the GUID's bytes (in text order), or
// for an id that is not a GUID the first 16 bytes of its sha256.
type idKey [16]byte

// keyOf returns id's key and whether formatKey(key) gives id back.
func keyOf(id string) (idKey, bool) {
	var k idKey
	if len(id) == 36 && id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-' {
		var h [32]byte
		copy(h[:8], id[0:8])
		copy(h[8:12], id[9:13])
		copy(h[12:16], id[14:18])
		copy(h[16:20], id[19:23])
		copy(h[20:32], id[24:36])
		if _, err := hex.Decode(k[:], h[:]); err == nil {
			return k, formatKey(k) == id
		}
	}
	sum := sha256.Sum256([]byte(id))
	copy(k[:], sum[:16])
	return k, false
}

// formatKey writes a GUID key as lowercase 8-4-4-4-12 text.
func formatKey(k idKey) string {
	h := hex.EncodeToString(k[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// idSet holds ids as 16-byte keys; odd keeps the text of the few ids
// formatKey does not give back (upper case, not a GUID).
type idSet struct {
	keys map[idKey]struct{}
	odd  map[idKey]string
}

func (s *idSet) add(id string) {
	k, exact := keyOf(id)
	s.keys[k] = struct{}{}
	if !exact {
		s.odd[k] = id
	}
}

// names returns the ids left in the set, sorted.
func (s *idSet) names() []string {
	out := make([]string, 0, len(s.keys))
	for k := range s.keys {
		if id, ok := s.odd[k]; ok {
			out = append(out, id)
		} else {
			out = append(out, formatKey(k))
		}
	}
	slices.Sort(out)
	return out
}
