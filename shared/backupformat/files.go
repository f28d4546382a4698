package backupformat

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
	"os"
	"sort"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
)

// FileHashSuffix marks an inline file column (annotation.documentbody,
// activitymimeattachment.body) whose base64 content the backup engine moved
// to a file blob: the record holds "documentbody@cloudbackup.sha256": "<hex>"
// instead of "documentbody".
const FileHashSuffix = "@cloudbackup.sha256"

// FileHashKey is the record key that replaces inline file column col.
func FileHashKey(col string) string { return col + FileHashSuffix }

// InlineFileColumn returns the column whose content key stands for, when key
// is a FileHashKey.
func InlineFileColumn(key string) (col string, ok bool) {
	return strings.CutSuffix(key, FileHashSuffix)
}

// PutFile stores the content read from r in ContainerFiles under its sha256,
// once: when a blob with that hash exists nothing is uploaded. The content is
// spooled to a temporary file while hashing, so memory stays bounded whatever
// its size. It returns the hash and size.
func PutFile(ctx context.Context, b blobstore.Store, r io.Reader) (sum string, size int64, err error) {
	f, err := os.CreateTemp("", "cloudbackup-file-*")
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(f, h), r)
	if err != nil {
		return "", size, err
	}
	sum = hex.EncodeToString(h.Sum(nil))
	if _, err := b.Stat(ctx, ContainerFiles, FileBlob(sum)); err == nil {
		return sum, size, nil
	} else if !errors.Is(err, blobstore.ErrNotFound) {
		return "", size, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", size, err
	}
	_, err = b.Put(ctx, ContainerFiles, FileBlob(sum), f, &blobstore.PutOptions{ContentType: "application/octet-stream", IfNotExists: true})
	if err != nil && !errors.Is(err, blobstore.ErrExists) {
		return "", size, err
	}
	return sum, size, nil
}

// PutFileBytes is PutFile for content already in memory.
func PutFileBytes(ctx context.Context, b blobstore.Store, data []byte) (string, int64, error) {
	s := sha256.Sum256(data)
	sum := hex.EncodeToString(s[:])
	if _, err := b.Stat(ctx, ContainerFiles, FileBlob(sum)); err == nil {
		return sum, int64(len(data)), nil
	}
	_, err := b.Put(ctx, ContainerFiles, FileBlob(sum), bytes.NewReader(data), &blobstore.PutOptions{ContentType: "application/octet-stream", IfNotExists: true})
	if err != nil && !errors.Is(err, blobstore.ErrExists) {
		return "", 0, err
	}
	return sum, int64(len(data)), nil
}

// OpenFile opens a stored file by its hash.
func OpenFile(ctx context.Context, b blobstore.Store, sha256hex string) (io.ReadCloser, error) {
	return b.Get(ctx, ContainerFiles, FileBlob(sha256hex))
}

// EncodeFileRefs renders refs as the NDJSON of a FileRefsBlob.
func EncodeFileRefs(refs []FileRef) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, r := range refs {
		_ = enc.Encode(r)
	}
	return buf.Bytes()
}

// ReadFileRefs streams the lines of a FileRefsBlob.
func ReadFileRefs(ctx context.Context, b blobstore.Store, name string, fn func(FileRef) error) error {
	rc, err := b.Get(ctx, ContainerBackups, name)
	if err != nil {
		return fmt.Errorf("file list %s: %w", name, err)
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var fr FileRef
		if err := json.Unmarshal(line, &fr); err != nil {
			return fmt.Errorf("file list %s: %w", name, err)
		}
		if err := fn(fr); err != nil {
			return err
		}
	}
	return sc.Err()
}

// TableFiles streams the file references of table in run (its own pages'
// lists; for a delta run, only the files of changed records).
func TableFiles(ctx context.Context, b blobstore.Store, m *Manifest, table string, fn func(FileRef) error) error {
	tm := m.Table(table)
	if tm == nil {
		return fmt.Errorf("%w: %s in run %s", ErrTableNotInRun, table, m.Run)
	}
	for _, f := range tm.Files {
		if err := ReadFileRefs(ctx, b, f.Blob, fn); err != nil {
			return err
		}
	}
	return nil
}

// TableFileState streams the files held by the records of table as of run:
// the file lists of every run of the table's chain applied like the
// records (a record stored again in a later run has exactly the files that
// run listed for it, so a cleared file column drops its file; a tombstoned
// record has none). Order: by record id, then column.
func TableFileState(ctx context.Context, b blobstore.Store, env, run, table string, fn func(FileRef) error) error {
	m, err := ReadManifest(ctx, b, env, run)
	if err != nil {
		return err
	}
	tm := m.Table(table)
	if tm == nil || tm.Status != TableDone || len(tm.Chain) == 0 {
		return fmt.Errorf("%w: %s in run %s", ErrTableNotInRun, table, run)
	}
	refs := map[string][]FileRef{}
	for _, r := range tm.Chain {
		rm := m
		if r != run {
			if rm, err = ReadManifest(ctx, b, env, r); err != nil {
				return fmt.Errorf("run %s needs %s: %w", run, r, err)
			}
		}
		// Every record stored in this run replaces what earlier runs listed.
		if err := ReadTablePages(ctx, b, rm, table, func(_ PageRef, rec Record) error {
			delete(refs, rec.ID)
			return nil
		}); err != nil {
			return err
		}
		if err := TableFiles(ctx, b, rm, table, func(fr FileRef) error {
			list := refs[fr.ID]
			for i := range list {
				if list[i].Column == fr.Column { // listed again (re-read phase): the later wins
					list[i] = fr
					return nil
				}
			}
			refs[fr.ID] = append(list, fr)
			return nil
		}); err != nil {
			return err
		}
	}
	ids := make([]string, 0, len(refs))
	for id := range refs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		list := refs[id]
		sort.Slice(list, func(i, j int) bool { return list[i].Column < list[j].Column })
		for _, fr := range list {
			if err := fn(fr); err != nil {
				return err
			}
		}
	}
	return nil
}
