package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/retry"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// DownloadFiles handles a files message: the file and image columns of the
// records of one stored page are downloaded (Range chunks) into
// content-addressed blobs, and the page's file list is written. Replays
// rewrite the same list; files already stored are not uploaded again.
func (e *Engine) DownloadFiles(ctx context.Context, m FilesMessage, deliveryCount int) error {
	if ended, err := e.runEnded(ctx, m.Environment, m.Run); ended || err != nil {
		return err
	}
	t, err := e.state.GetTask(ctx, m.Run, m.Table)
	if errors.Is(err, runstate.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if runstate.TaskTerminal(t.Status) {
		return e.afterTable(ctx, m.Environment, m.Run, t)
	}
	var page *backupformat.PageRef
	for i := range t.Pages {
		if t.Pages[i].N == m.Page {
			page = &t.Pages[i]
		}
	}
	if page == nil {
		return nil // page dropped by a fallback to full
	}
	clients, err := e.clientsFor(ctx, m.Environment)
	if err != nil {
		return err
	}
	c := clients[(m.Page+m.Attempt)%len(clients)]
	refs, err := e.downloadPageFiles(ctx, c, t, page.Blob)
	if err != nil {
		if ra, ok := dataverse.IsThrottled(err); ok {
			m.Attempt++
			body, _ := encode(m)
			if err := e.sender.Send(ctx, messaging.QueueFiles, messaging.Message{ID: filesID(m), Body: body, Delay: ra}); err != nil {
				return err
			}
			if _, err := e.state.ModifyTask(ctx, t.Run, t.Table, func(x *runstate.Task) (bool, error) { x.Throttled++; return true, nil }); err != nil {
				return err
			}
			_, err := e.state.ModifyRun(ctx, t.Environment, t.Run, func(r *runstate.Run) (bool, error) { r.Throttled++; return true, nil })
			return err
		}
		if deliveryCount >= e.opts.MaxDeliveries || !dataverse.Classify(err).Retryable() {
			return e.endTask(ctx, t, runstate.TaskFailed, fmt.Sprintf("files of page %d failed after %d deliveries: %s", m.Page, deliveryCount, errText(err)))
		}
		return fmt.Errorf("files of page %d of %s: %w", m.Page, m.Table, err)
	}
	if _, err := e.writeFileRefs(ctx, t, m.Page, refs); err != nil {
		return err
	}
	// Read the task again: its last page may have been extracted since it
	// was read above, and that extraction's check of the file lists may
	// have run before this page's list existed. The list is written before
	// this read and the files state before that check, so whichever comes
	// last sees the other, and the table ends exactly when its last list
	// exists (checked against every page, which the task read above may
	// not have had yet).
	if t, err = e.state.GetTask(ctx, m.Run, m.Table); err != nil {
		return err
	}
	if t.Status == runstate.TaskFiles {
		return e.checkFiles(ctx, t)
	}
	return nil
}

func (e *Engine) downloadPageFiles(ctx context.Context, c *dataverse.Client, t *runstate.Task, blob string) ([]backupformat.FileRef, error) {
	rc, err := e.blobs.Get(ctx, backupformat.ContainerBackups, blob)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var refs []backupformat.FileRef
	err = backupformat.ReadPage(rc, func(r backupformat.Record) error {
		if r.Op != backupformat.OpUpsert {
			return nil
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(r.Data, &fields); err != nil {
			return err
		}
		cols := make([]struct {
			name  string
			image bool
		}, 0, len(t.FileColumns)+len(t.ImageColumns))
		for _, f := range t.FileColumns {
			cols = append(cols, struct {
				name  string
				image bool
			}{f, false})
		}
		for _, f := range t.ImageColumns {
			cols = append(cols, struct {
				name  string
				image bool
			}{f, true})
		}
		for _, col := range cols {
			if !hasValue(fields, col.name) && !hasValue(fields, col.name+"id") && !hasValue(fields, col.name+"_name") {
				continue
			}
			var ref backupformat.FileRef
			_, err := retry.Do(ctx, inInvocation, func() (err error) {
				ref, err = e.downloadOne(ctx, c, t, r.ID, col.name, col.image)
				return err
			})
			if errors.Is(err, dataverse.ErrNoFile) {
				continue
			}
			if err != nil {
				return err
			}
			refs = append(refs, ref)
		}
		return nil
	})
	return refs, err
}

func hasValue(fields map[string]json.RawMessage, k string) bool {
	v, ok := fields[k]
	return ok && string(v) != "null" && string(v) != `""`
}

// downloadOne streams one file through a temporary file (hashing as it
// goes) into its content-addressed blob.
func (e *Engine) downloadOne(ctx context.Context, c *dataverse.Client, t *runstate.Task, id, col string, image bool) (backupformat.FileRef, error) {
	f, err := os.CreateTemp("", "cloudbackup-dl-*")
	if err != nil {
		return backupformat.FileRef{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	info, err := c.DownloadFile(ctx, t.EntitySet, id, col, image, f)
	if err != nil {
		return backupformat.FileRef{}, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return backupformat.FileRef{}, err
	}
	sum, size, err := backupformat.PutFile(ctx, e.blobs, f)
	if err != nil {
		return backupformat.FileRef{}, err
	}
	return backupformat.FileRef{Table: t.Table, ID: id, Column: col, SHA256: sum, Size: size, FileName: info.FileName, MimeType: info.MimeType}, nil
}
