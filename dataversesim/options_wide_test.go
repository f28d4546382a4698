package dataversesim

import (
	"bytes"
	"strings"
	"testing"
)

// WideColumns adds metadata-backed String columns to the wide table, seeded
// with WideColumnSize characters; other servers keep the fixed schema.
func TestWideColumns(t *testing.T) {
	s := Start(t, Options{Records: 50, Seed: 3, WideColumns: 60, WideColumnSize: 300})
	e := s.Demo()
	if a := e.Table("account").Attr("cr1_wide060"); a == nil || a.Type != TString {
		t.Fatalf("cr1_wide060: %+v", a)
	}
	r := call(t, e, "GET", "EntityDefinitions(LogicalName='account')/Attributes?$select=LogicalName", nil)
	want(t, r, 200)
	n := 0
	for _, v := range r.values() {
		if strings.HasPrefix(v.(map[string]any)["LogicalName"].(string), "cr1_wide") {
			n++
		}
	}
	if n != 60 {
		t.Fatalf("%d wide attributes in metadata, want 60", n)
	}
	r = call(t, e, "GET", "accounts?$top=1", nil)
	want(t, r, 200)
	row := r.values()[0].(map[string]any)
	if v, _ := row["cr1_wide001"].(string); len(v) != 300 {
		t.Fatalf("cr1_wide001 = %q", v)
	}
	id := e.IDs("account")[0]
	if err := e.Update("account", id, map[string]any{"cr1_wide002": WideValue(1000, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	got, _ := e.Get("account", id)
	if v, _ := got["cr1_wide002"].(string); len(v) != 1000 {
		t.Fatalf("after update len %d", len(v))
	}
	// The default schema is untouched.
	d := Start(t, Options{Records: 10, Seed: 3})
	if d.Demo().Table("account").Attr("cr1_wide001") != nil || len(d.Demo().Table("account").Attrs) >= len(e.Table("account").Attrs) {
		t.Fatal("default schema changed")
	}
}

// MaxFileSizeMB raises cr1_document's limit (and MaxSizeInKB) so a file
// above the default 32 MB can be uploaded.
func TestMaxFileSizeMB(t *testing.T) {
	s := Start(t, Options{Records: 20, Seed: 3, MaxFileSizeMB: 40})
	e := s.Demo()
	r := call(t, e, "GET", "EntityDefinitions(LogicalName='cr1_project')/Attributes(LogicalName='cr1_document')", nil)
	want(t, r, 200)
	if kb, _ := r.body["MaxSizeInKB"].(float64); kb != 40*1024 {
		t.Fatalf("MaxSizeInKB %v", r.body["MaxSizeInKB"])
	}
	id := e.IDs("cr1_project")[0]
	data := bytes.Repeat([]byte{7}, 33<<20)
	r = call(t, e, "PATCH", "cr1_projects("+id+")/cr1_document", data, "Content-Type", "application/octet-stream", "x-ms-file-name", "big.bin")
	want(t, r, 204)
	row, _ := e.Get("cr1_project", id)
	_, _, got, _ := e.File(row["cr1_document"].(string))
	if !bytes.Equal(got, data) {
		t.Fatalf("stored %d bytes", len(got))
	}
	r = call(t, e, "PATCH", "cr1_projects("+id+")/cr1_document", bytes.Repeat([]byte{7}, 41<<20), "Content-Type", "application/octet-stream", "x-ms-file-name", "big.bin")
	if r.status != 400 || r.errCode() != codeTooBig {
		t.Fatalf("41 MB: %d %.200s", r.status, r.raw)
	}
	// Default stays 32 MB.
	d := Start(t, Options{Records: 20, Seed: 3}).Demo()
	if d.Table("cr1_project").Attr("cr1_document").MaxSizeKB != 32768 {
		t.Fatal("default MaxSizeKB changed")
	}
}
