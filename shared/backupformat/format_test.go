package backupformat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
)

func rec(id string, v int64, name string) Record {
	return Record{ID: id, Op: OpUpsert, Version: v, ETag: fmt.Sprintf(`W/"%d"`, v), Data: json.RawMessage(fmt.Sprintf(`{"accountid":%q,"name":%q}`, id, name))}
}

func putPage(t *testing.T, b blobstore.Store, name string, recs ...Record) PageRef {
	t.Helper()
	var buf bytes.Buffer
	w := NewPageWriter(&buf)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	st, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(context.Background(), ContainerBackups, name, &buf, nil); err != nil {
		t.Fatal(err)
	}
	return PageRef{Blob: name, PageStats: st}
}

func TestPageRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewPageWriter(&buf)
	big := strings.Repeat("x", 300<<10) // one line longer than the reader's buffer
	in := []Record{rec("a", 1, "A"), {ID: "b", Op: OpDelete}, rec("c", 3, big)}
	for _, r := range in {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	st, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 2 || st.Deletes != 1 || st.Bytes != int64(buf.Len()) || len(st.SHA256) != 64 {
		t.Fatalf("stats %+v (stored %d)", st, buf.Len())
	}
	var out []Record
	if err := ReadPage(&buf, func(r Record) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || out[1].Op != OpDelete || out[1].Data != nil || !bytes.Contains(out[2].Data, []byte(big)) || out[0].Version != 1 {
		t.Fatalf("read back %d records: %+v", len(out), out[:1])
	}
	if err := w.Write(Record{ID: "x", Op: "merge"}); err == nil {
		t.Error("unknown op accepted")
	}
}

// TestTableStateAppliesChain: full read + two deltas -> state; older runs
// still give their own state.
func TestTableStateAppliesChain(t *testing.T) {
	ctx := context.Background()
	b := blobstore.NewMemory()
	env := "e1"
	full := &Manifest{Environment: env, Run: "r1", Kind: KindFull, Tables: []TableManifest{{Name: "account", Status: TableDone, Mode: ModeFull, Chain: []string{"r1"},
		Pages: []PageRef{putPage(t, b, PageBlob(env, "r1", "account", 1), rec("a", 1, "A"), rec("b", 2, "B")), putPage(t, b, PageBlob(env, "r1", "account", 2), rec("c", 3, "C"), rec("d", 4, "D"))}}}}
	d1 := &Manifest{Environment: env, Run: "r2", Kind: KindIncremental, Tables: []TableManifest{{Name: "account", Status: TableDone, Mode: ModeDelta, Chain: []string{"r1", "r2"},
		Pages: []PageRef{putPage(t, b, PageBlob(env, "r2", "account", 1), rec("b", 10, "B2"), Record{ID: "c", Op: OpDelete}, rec("e", 11, "E")),
			// re-read phase: an older copy of b must not win over the delta's newer one
			putPage(t, b, PageBlob(env, "r2", "account", 2), rec("b", 9, "B-old"))}}}}
	d2 := &Manifest{Environment: env, Run: "r3", Kind: KindIncremental, Tables: []TableManifest{{Name: "account", Status: TableDone, Mode: ModeDelta, Chain: []string{"r1", "r2", "r3"},
		Pages: []PageRef{putPage(t, b, PageBlob(env, "r3", "account", 1), Record{ID: "a", Op: OpDelete}, rec("e", 12, "E2"), rec("f", 13, "F"))}}}}
	for _, m := range []*Manifest{full, d1, d2} {
		if err := WriteManifest(ctx, b, m); err != nil {
			t.Fatal(err)
		}
	}
	state := func(run string) string {
		var parts []string
		err := TableState(ctx, b, env, run, "account", func(r Record) error {
			var d struct{ Name string }
			_ = json.Unmarshal(r.Data, &d)
			parts = append(parts, r.ID+"="+d.Name)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(parts, ",")
	}
	for run, want := range map[string]string{"r1": "a=A,b=B,c=C,d=D", "r2": "a=A,b=B2,d=D,e=E", "r3": "b=B2,d=D,e=E2,f=F"} {
		if got := state(run); got != want {
			t.Errorf("state at %s: %s, want %s", run, got, want)
		}
	}
	// TableIDs gives the ids of the same states without the records.
	for run, want := range map[string]string{"r1": "a,b,c,d", "r2": "a,b,d,e", "r3": "b,d,e,f"} {
		var ids []string
		if err := TableIDs(ctx, b, env, run, "account", func(id string) error { ids = append(ids, id); return nil }); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(ids, ","); got != want {
			t.Errorf("ids at %s: %s, want %s", run, got, want)
		}
	}
	m3, _ := ReadManifest(ctx, b, env, "r3")
	if strings.Join(m3.BuildsOn, ",") != "r1,r2" || m3.FormatVersion != FormatVersion {
		t.Errorf("buildsOn %v version %d", m3.BuildsOn, m3.FormatVersion)
	}
	if err := TableState(ctx, b, env, "r3", "contact", func(Record) error { return nil }); err == nil {
		t.Error("state of a table not in the run")
	}
}

// TestVerifyNamesACorruptBlob: Verify reports a page whose content no
// longer matches the manifest.
func TestVerifyNamesACorruptBlob(t *testing.T) {
	ctx := context.Background()
	b := blobstore.NewMemory()
	p1 := putPage(t, b, PageBlob("e", "r1", "account", 1), rec("a", 1, "A"))
	p2 := putPage(t, b, PageBlob("e", "r1", "account", 2), rec("b", 2, "B"))
	m := &Manifest{Environment: "e", Run: "r1", Tables: []TableManifest{{Name: "account", Status: TableDone, Mode: ModeFull, Chain: []string{"r1"}, Pages: []PageRef{p1, p2}}}}
	if err := WriteManifest(ctx, b, m); err != nil {
		t.Fatal(err)
	}
	if probs, err := Verify(ctx, b, "e", "r1"); err != nil || len(probs) != 0 {
		t.Fatalf("intact run: %v %v", probs, err)
	}
	putPage(t, b, p2.Blob, rec("b", 2, "tampered"))
	probs, err := Verify(ctx, b, "e", "r1")
	if err != nil || len(probs) != 1 || probs[0].Blob != p2.Blob {
		t.Fatalf("corrupt page: %v %v", probs, err)
	}
}

func TestPutFileStoresOnce(t *testing.T) {
	ctx := context.Background()
	b := blobstore.NewMemory()
	s1, n, err := PutFile(ctx, b, strings.NewReader("hello"))
	if err != nil || n != 5 {
		t.Fatal(err, n)
	}
	s2, _, _ := PutFileBytes(ctx, b, []byte("hello"))
	files, _ := blobstore.Collect(b.List(ctx, ContainerFiles, ""))
	if s1 != s2 || len(files) != 1 || files[0].Name != FileBlob(s1) {
		t.Fatalf("%s %s %v", s1, s2, files)
	}
}
