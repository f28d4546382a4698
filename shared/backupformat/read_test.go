package backupformat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
)

// twoRuns writes a full run r1 and an incremental r2 of table contact:
// r2 changes c2 (now pointing at an account), deletes c3 and adds c4.
func twoRuns(t *testing.T) (*blobstore.Memory, string) {
	t.Helper()
	ctx := context.Background()
	b := blobstore.NewMemory()
	env := "e1"
	contact := func(id string, v int64, name, parent, parentTable string) Record {
		d := map[string]any{"contactid": id, "fullname": name, "_parentcustomerid_value": nil}
		if parent != "" {
			d["_parentcustomerid_value"] = parent
			d["_parentcustomerid_value"+lookupTableAnnotation] = parentTable
			d["_parentcustomerid_value@OData.Community.Display.V1.FormattedValue"] = "shown"
		}
		data, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		return Record{ID: id, Op: OpUpsert, Version: v, Data: data}
	}
	r1 := &Manifest{Environment: env, Run: "r1", Kind: KindFull, Status: RunSucceeded, Tables: []TableManifest{{Name: "contact", Status: TableDone, Mode: ModeFull, Chain: []string{"r1"},
		Pages: []PageRef{putPage(t, b, PageBlob(env, "r1", "contact", 1), contact("c1", 1, "Ann", "p1", "contact"), contact("c2", 2, "=cmd()", "", ""), contact("c3", 3, "Anton", "", ""))}}}}
	r2 := &Manifest{Environment: env, Run: "r2", Kind: KindIncremental, Status: RunPartial, Tables: []TableManifest{
		{Name: "contact", Status: TableDone, Mode: ModeDelta, Chain: []string{"r1", "r2"},
			Pages: []PageRef{putPage(t, b, PageBlob(env, "r2", "contact", 1), contact("c2", 5, "=cmd()", "a1", "account"), Record{ID: "c3", Op: OpDelete}, contact("c4", 6, "Anna", "", ""))}},
		{Name: "lead", Status: TableFailed, Reason: "503"}}}
	for _, m := range []*Manifest{r1, r2} {
		if err := WriteManifest(ctx, b, m); err != nil {
			t.Fatal(err)
		}
	}
	return b, env
}

func TestLatestRunSkipsFailedRuns(t *testing.T) {
	ctx := context.Background()
	b, env := twoRuns(t)
	if err := WriteManifest(ctx, b, &Manifest{Environment: env, Run: "r3", Status: RunFailed}); err != nil {
		t.Fatal(err)
	}
	if r, err := LatestRun(ctx, b, env); err != nil || r != "r2" {
		t.Fatalf("latest run %q %v, want r2 (r3 failed)", r, err)
	}
	if _, err := LatestRun(ctx, b, "nobody"); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("environment without runs: %v, want ErrNotFound", err)
	}
	// An unreadable manifest is an error, not a reason to go back in time.
	if _, err := b.Put(ctx, ContainerBackups, ManifestBlob(env, "r4"), strings.NewReader("{"), nil); err != nil {
		t.Fatal(err)
	}
	if r, err := LatestRun(ctx, b, env); err == nil {
		t.Fatalf("latest run %q despite an unreadable newer manifest", r)
	}
}

func TestExportCSVKeepsLookupTable(t *testing.T) {
	ctx := context.Background()
	b, env := twoRuns(t)
	var buf bytes.Buffer
	if err := Export(ctx, b, env, "r2", "contact", ExportCSV, &buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := "_parentcustomerid_value,_parentcustomerid_value@lookuplogicalname,contactid,fullname"
	if got := strings.Join(rows[0], ","); got != want {
		t.Fatalf("header %s, want %s", got, want)
	}
	got := fmt.Sprint(rows[1:])
	if want := "[[p1 contact c1 Ann] [a1 account c2 '=cmd()] [  c4 Anna]]"; got != want {
		t.Errorf("rows %s, want %s", got, want)
	}
	buf.Reset()
	if err := Export(ctx, b, env, "r2", "contact", ExportJSON, &buf); err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &recs); err != nil || len(recs) != 3 || recs[1]["_parentcustomerid_value@OData.Community.Display.V1.FormattedValue"] != "shown" {
		t.Errorf("JSON export %s (%v)", buf.String(), err)
	}
	if err := Export(ctx, b, env, "r2", "contact", "xml", &buf); err == nil {
		t.Error("xml export accepted")
	}
}

func TestBrowseAndFindRecord(t *testing.T) {
	ctx := context.Background()
	b, env := twoRuns(t)
	names := func(recs []json.RawMessage) string {
		var out []string
		for _, r := range recs {
			var d struct{ Fullname string }
			if err := json.Unmarshal(r, &d); err != nil {
				t.Fatal(err)
			}
			out = append(out, d.Fullname)
		}
		return strings.Join(out, ",")
	}
	recs, more, err := Browse(ctx, b, env, "r2", "contact", BrowseQuery{Prefix: "AN"})
	if err != nil || more || names(recs) != "Ann,Anna" {
		t.Fatalf("prefix AN: %s more=%v %v (Anton was deleted in r2)", names(recs), more, err)
	}
	recs, more, err = Browse(ctx, b, env, "r1", "contact", BrowseQuery{Prefix: "an", Limit: 1})
	if err != nil || !more || names(recs) != "Ann" {
		t.Fatalf("limit 1 at r1: %s more=%v %v", names(recs), more, err)
	}
	if recs, more, err = Browse(ctx, b, env, "r1", "contact", BrowseQuery{Prefix: "an", Limit: 2}); err != nil || more || len(recs) != 2 {
		t.Fatalf("limit 2 at r1 (exactly two match): %d more=%v %v", len(recs), more, err)
	}
	if _, _, err := Browse(ctx, b, env, "r2", "lead", BrowseQuery{}); !errors.Is(err, ErrTableNotInRun) {
		t.Fatalf("failed table: %v, want ErrTableNotInRun", err)
	}
	if data, found, err := FindRecord(ctx, b, env, "r2", "contact", "C4"); err != nil || !found || !bytes.Contains(data, []byte("Anna")) {
		t.Fatalf("c4: %s %v %v", data, found, err)
	}
	if _, found, err := FindRecord(ctx, b, env, "r2", "contact", "c3"); err != nil || found {
		t.Fatalf("deleted c3: found=%v %v", found, err)
	}
}

func TestRunReaderTablesAndFiles(t *testing.T) {
	ctx := context.Background()
	b, env := twoRuns(t)
	r := NewRunReader(b, env, "r2")
	tables, err := r.Tables(ctx)
	if err != nil || strings.Join(tables, ",") != "contact" {
		t.Fatalf("tables %v %v (lead failed)", tables, err)
	}
	if err := r.CheckTable(ctx, "lead"); !errors.Is(err, ErrTableNotInRun) || !strings.Contains(err.Error(), "failed") {
		t.Errorf("lead: %v", err)
	}
	if err := r.CheckTable(ctx, "contact"); err != nil {
		t.Error(err)
	}
	if err := NewRunReader(b, env, "r9").CheckTable(ctx, "contact"); !errors.Is(err, blobstore.ErrNotFound) {
		t.Errorf("missing run: %v", err)
	}
	if col, ok := InlineFileColumn(FileHashKey("documentbody")); !ok || col != "documentbody" {
		t.Errorf("file hash key round trip: %q %v", col, ok)
	}
	if _, ok := InlineFileColumn("documentbody"); ok {
		t.Error("a plain column taken for a file hash key")
	}
}

// TestVerifyChainNamesDamagedTables: a page of the run a later run builds
// on, and a file a table's list refers to, damage those tables as of the
// later run.
func TestVerifyChainNamesDamagedTables(t *testing.T) {
	ctx := context.Background()
	b, env := twoRuns(t)
	if d, err := VerifyChain(ctx, b, env, "r2"); err != nil || len(d.Problems) != 0 || len(d.Tables) != 0 {
		t.Fatalf("intact chain: %+v %v", d, err)
	}
	// A note table in r2 with a file whose content then changes.
	sum, n, err := PutFileBytes(ctx, b, []byte("attachment"))
	if err != nil {
		t.Fatal(err)
	}
	list := EncodeFileRefs([]FileRef{{Table: "annotation", ID: "n1", Column: "documentbody", SHA256: sum, Size: n}})
	if _, err := b.Put(ctx, ContainerBackups, FileRefsBlob(env, "r2", "annotation", 1), bytes.NewReader(list), nil); err != nil {
		t.Fatal(err)
	}
	m, err := ReadManifest(ctx, b, env, "r2")
	if err != nil {
		t.Fatal(err)
	}
	ls := sha256hex(list)
	m.Tables = append(m.Tables, TableManifest{Name: "annotation", Status: TableDone, Mode: ModeFull, Chain: []string{"r2"},
		Files: []BlobRef{{Blob: FileRefsBlob(env, "r2", "annotation", 1), Bytes: int64(len(list)), SHA256: ls}}})
	if err := WriteManifest(ctx, b, m); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, ContainerFiles, FileBlob(sum), strings.NewReader("tampered!!"), nil); err != nil {
		t.Fatal(err)
	}
	putPage(t, b, PageBlob(env, "r1", "contact", 1), rec("c1", 1, "tampered"))
	d, err := VerifyChain(ctx, b, env, "r2")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.TableList(), ","); got != "annotation,contact" || len(d.Problems) != 2 {
		t.Errorf("damaged %s (%s), want annotation,contact", got, d)
	}
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
