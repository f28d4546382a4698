package backup_test

import (
	"context"
	"io"
	"iter"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
	"github.com/cloudbackup-d365/cloudbackup/testkit/pump"
)

// gatedBlobs holds the files download of page 1 (its read of the page blob,
// which comes after DownloadFiles read the task) until the table's file
// lists have been checked twice: by the extraction of the last page and by
// the files download of the last page.
type gatedBlobs struct {
	blobstore.Store
	page1, filesPrefix string
	page1Read          chan struct{}
	mu                 sync.Mutex
	gated              bool
	checks             int
	checked            chan struct{}
}

func (g *gatedBlobs) Get(ctx context.Context, container, name string) (io.ReadCloser, error) {
	g.mu.Lock()
	first := name == g.page1 && !g.gated
	g.gated = g.gated || first
	g.mu.Unlock()
	if first {
		close(g.page1Read)
		select {
		case <-g.checked:
		case <-time.After(time.Minute):
			// The order did not come about; the test then proves nothing
			// but must not hang.
		case <-ctx.Done():
		}
	}
	return g.Store.Get(ctx, container, name)
}

func (g *gatedBlobs) List(ctx context.Context, container, prefix string) iter.Seq2[blobstore.Info, error] {
	if prefix == g.filesPrefix {
		g.mu.Lock()
		g.checks++
		if g.checks == 2 {
			close(g.checked)
		}
		g.mu.Unlock()
	}
	return g.Store.List(ctx, container, prefix)
}

// TestFilesOfAnEarlyPageFinishingLastEndTheTable: the file downloads of a
// table's pages may finish in any order relative to the extraction of its
// last page. Here the download of page 1 reads the task while the table is
// still being extracted, and writes its file list only after the last
// page's extraction and download both looked for the lists and found page
// 1's missing. The download that writes the last list must then end the
// table, or the run stays "running" with no message left (the flake seen as
// "run ... did not finish: running" in loaded test runs).
func TestFilesOfAnEarlyPageFinishingLastEndTheTable(t *testing.T) {
	ctx := context.Background()
	const table = "cr1_project"
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 50, Seed: 21,
		TableCounts: map[string]int{table: 60}}}) // two pages of 40
	f.dir.env.Policy.Include = []string{table}
	run, err := f.eng.StartRun(ctx, f.envID, runstate.TriggerOnDemand)
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedBlobs{Store: f.blobs, page1: backupformat.PageBlob(f.envID, run.ID, table, 1),
		filesPrefix: backupformat.TablePrefix(f.envID, run.ID, table) + "files-",
		page1Read:   make(chan struct{}), checked: make(chan struct{})}
	opts := smallPages
	opts.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	f.eng = backup.New(f.dir, f.state, g, f.sender, opts)

	// The last page is extracted only once page 1's download has read the
	// task (and is held in its read of the page blob).
	hold := func(next pump.Handler) pump.Handler {
		return func(ctx context.Context, queue string, body []byte, n int) error {
			if queue == messaging.QueueExtract {
				if m, err := backup.DecodeExtract(body); err == nil && m.Table == table && m.Page == 2 {
					select {
					case <-g.page1Read:
					case <-time.After(time.Minute):
					}
				}
			}
			return next(ctx, queue, body, n)
		}
	}
	if poison := f.pump(ctx, pumpOptions{Workers: 4, Handler: hold}); len(poison) > 0 {
		t.Fatalf("poison: %+v", poison)
	}
	select {
	case <-g.checked:
	default:
		t.Fatal("the file lists were not checked twice before page 1's list was written: the order under test did not happen")
	}
	got, err := f.state.GetRun(ctx, f.envID, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != runstate.RunSucceeded {
		tasks, _ := f.state.ListTasks(ctx, run.ID)
		var s []string
		for _, tk := range tasks {
			s = append(s, tk.Table+" "+tk.Status)
		}
		t.Fatalf("run %s; tasks: %s", got.Status, strings.Join(s, ", "))
	}
	m := f.manifest(ctx, run.ID)
	if len(m.Tables) != 1 || len(m.Tables[0].Pages) != 2 {
		t.Fatalf("manifest tables %+v, want %s in two pages", m.Tables, table)
	}
}
