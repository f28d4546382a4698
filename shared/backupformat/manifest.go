package backupformat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
)

// Run kinds.
const (
	KindFull        = "full"
	KindIncremental = "incremental"
)

// Table modes in a run.
const (
	// ModeFull: every record of the table was read in this run.
	ModeFull = "full"
	// ModeDelta: only changes since the table's previous run (changes and
	// tombstones from change tracking, plus the mid-load re-read).
	ModeDelta = "delta"
)

// Table statuses.
const (
	TableDone    = "done"
	TableFailed  = "failed"
	TableSkipped = "skipped"
)

// Page phases.
const (
	PhaseFull   = "full"   // a page of a full read
	PhaseReread = "reread" // records with modifiedon >= the full load's start
	PhaseDelta  = "delta"  // a change-tracking delta page
	// PhaseSweep: tombstones of the id sweep (first incremental after a
	// full read): records in the previous run's state that no longer exist.
	PhaseSweep = "sweep"
)

// Manifest describes a finished run: what it holds and what it builds on.
type Manifest struct {
	FormatVersion int       `json:"formatVersion"`
	Environment   string    `json:"environment"`
	Run           string    `json:"run"`
	Kind          string    `json:"kind"`
	Trigger       string    `json:"trigger,omitempty"`
	Status        string    `json:"status"`
	StartedAt     time.Time `json:"startedAt"`
	FinishedAt    time.Time `json:"finishedAt"`
	// BuildsOn lists the earlier runs needed to reconstruct any table at this
	// run (the union of the tables' chains), oldest first.
	BuildsOn []string        `json:"buildsOn"`
	Metadata *BlobRef        `json:"metadata,omitempty"`
	Tables   []TableManifest `json:"tables"`
	Totals   Totals          `json:"totals"`
	Extra    map[string]any  `json:"extra,omitempty"`
}

// Totals sum a run.
type Totals struct {
	Tables    int   `json:"tables"`
	Failed    int   `json:"failed"`
	Skipped   int   `json:"skipped"`
	Records   int64 `json:"records"`
	Deletes   int64 `json:"deletes"`
	Pages     int   `json:"pages"`
	Bytes     int64 `json:"bytes"`
	Files     int64 `json:"files"`
	FileBytes int64 `json:"fileBytes"`
	Throttled int64 `json:"throttled"`
	// SweepTombstones sums the tombstones written by id sweeps (also
	// counted in Deletes).
	SweepTombstones int64 `json:"sweepTombstones,omitempty"`
}

// BlobRef names a blob with its size and sha256.
type BlobRef struct {
	Blob   string `json:"blob"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// PageRef is one page of a table in a run.
type PageRef struct {
	N     int    `json:"n"`
	Phase string `json:"phase"`
	Blob  string `json:"blob"`
	PageStats
}

// TableManifest is one table of a run.
type TableManifest struct {
	Name      string `json:"name"`
	EntitySet string `json:"entitySet,omitempty"`
	Status    string `json:"status"`
	Reason    string `json:"reason,omitempty"`
	Mode      string `json:"mode,omitempty"`
	// FallbackReason says why a table planned as delta was read in full
	// (e.g. the delta token expired).
	FallbackReason string `json:"fallbackReason,omitempty"`
	// Chain lists the runs whose pages make the table's state at this run,
	// oldest (the full read) first, ending with this run.
	Chain          []string  `json:"chain,omitempty"`
	ChangeTracking bool      `json:"changeTracking"`
	Records        int64     `json:"records"`
	Deletes        int64     `json:"deletes"`
	Bytes          int64     `json:"bytes"`
	Throttled      int64     `json:"throttled,omitempty"`
	Pages          []PageRef `json:"pages"`
	Files          []BlobRef `json:"files,omitempty"` // FileRefsBlob of each page that has files
	FileCount      int64     `json:"fileCount,omitempty"`
	FileBytes      int64     `json:"fileBytes,omitempty"`
	// DeltaLink continues change tracking in the next run.
	DeltaLink string `json:"deltaLink,omitempty"`
	// FullStartedAt is when the table's last full read started (kept along
	// the chain); RereadPending says the next run must re-read records with
	// modifiedon at or after it (changes made during the full read).
	FullStartedAt time.Time `json:"fullStartedAt,omitzero"`
	RereadPending bool      `json:"rereadPending,omitempty"`
	// Sweep is set when the run swept the table's ids (first incremental
	// after a full read): see docs/storage-format.md.
	Sweep *Sweep `json:"sweep,omitempty"`
}

// Sweep reports the id sweep of a table in a run: LiveIDs ids read from
// Dataverse, BackupIDs ids in the previous run's state (less the tombstones
// of this run's delta), Tombstones the ids of the latter absent from the
// former, written as tombstones in the table's last page (phase sweep).
type Sweep struct {
	LiveIDs    int64 `json:"liveIds"`
	BackupIDs  int64 `json:"backupIds"`
	Tombstones int64 `json:"tombstones"`
}

// Table returns the manifest of table name, or nil.
func (m *Manifest) Table(name string) *TableManifest {
	for i := range m.Tables {
		if m.Tables[i].Name == name {
			return &m.Tables[i]
		}
	}
	return nil
}

// Normalize sorts tables and computes BuildsOn and Totals from the tables.
func (m *Manifest) Normalize() {
	sort.Slice(m.Tables, func(i, j int) bool { return m.Tables[i].Name < m.Tables[j].Name })
	seen := map[string]bool{}
	var builds []string
	var t Totals
	for _, tm := range m.Tables {
		t.Tables++
		switch tm.Status {
		case TableFailed:
			t.Failed++
		case TableSkipped:
			t.Skipped++
		}
		t.Records += tm.Records
		t.Deletes += tm.Deletes
		t.Pages += len(tm.Pages)
		t.Bytes += tm.Bytes
		t.Files += tm.FileCount
		t.FileBytes += tm.FileBytes
		t.Throttled += tm.Throttled
		if tm.Sweep != nil {
			t.SweepTombstones += tm.Sweep.Tombstones
		}
		for _, r := range tm.Chain {
			if r != m.Run && !seen[r] {
				seen[r] = true
				builds = append(builds, r)
			}
		}
	}
	sort.Strings(builds) // run ids sort by time
	if builds == nil {
		builds = []string{}
	}
	m.BuildsOn = builds
	m.Totals = t
}

// WriteManifest stores m (FormatVersion set) as the run's manifest.
func WriteManifest(ctx context.Context, b blobstore.Store, m *Manifest) error {
	m.FormatVersion = FormatVersion
	m.Normalize()
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	_, err = b.Put(ctx, ContainerBackups, ManifestBlob(m.Environment, m.Run), bytes.NewReader(data), &blobstore.PutOptions{ContentType: "application/json"})
	return err
}

// ReadManifest loads the manifest of a run; blobstore.ErrNotFound when the
// run has none (not finished, or deleted).
func ReadManifest(ctx context.Context, b blobstore.Store, env, run string) (*Manifest, error) {
	rc, err := b.Get(ctx, ContainerBackups, ManifestBlob(env, run))
	if err != nil {
		return nil, fmt.Errorf("manifest of run %s: %w", run, err)
	}
	defer rc.Close()
	var m Manifest
	if err := json.NewDecoder(rc).Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest of run %s: %w", run, err)
	}
	if m.FormatVersion > FormatVersion {
		return nil, fmt.Errorf("manifest of run %s has format version %d; this build reads up to %d", run, m.FormatVersion, FormatVersion)
	}
	return &m, nil
}
