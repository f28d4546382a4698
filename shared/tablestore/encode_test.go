package tablestore

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitDocKeepsCharactersWhole(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
	}{
		{"ascii", strings.Repeat("a", 2*chunkUnits+5)},
		{"surrogate pair on the boundary", strings.Repeat("a", chunkUnits-1) + "😀" + "b"},
		{"three-byte characters", strings.Repeat("€", chunkUnits+1)},
		{"empty", ""},
	} {
		chunks := splitDoc(tc.doc)
		if strings.Join(chunks, "") != tc.doc {
			t.Fatalf("%s: chunks do not join back", tc.name)
		}
		for i, c := range chunks {
			if !utf8.ValidString(c) || utf16Len(c) > chunkUnits || c == "" {
				t.Fatalf("%s: chunk %d invalid (%d units)", tc.name, i, utf16Len(c))
			}
		}
	}
	if got := splitDoc(strings.Repeat("a", chunkUnits-1) + "😀"); len(got) != 2 || got[1] != "😀" {
		t.Fatalf("a pair that would straddle the limit must move whole to the next chunk: %q", got[len(got)-1])
	}
}

func TestEntitySizeFormula(t *testing.T) {
	// 4 + 2*(1+1) keys; Data: 8+2*4+4+2*3; DataChunks: 8+2*10+4; Status: 8+2*6+4+2*2.
	want := 4 + 4 + (8 + 8 + 4 + 6) + (8 + 20 + 4) + (8 + 12 + 4 + 4)
	if got := entitySize("p", "r", []string{"abc"}, map[string]string{"Status": "ok"}); got != want {
		t.Fatalf("entitySize = %d, want %d", got, want)
	}
	// A character above U+FFFF is two UTF-16 units.
	if utf16Len("a😀") != 3 {
		t.Fatal("utf16Len")
	}
}

func TestASCIIJSON(t *testing.T) {
	in := []byte(`{"s":"héllo € 😀 \"q\""}`)
	out := asciiJSON(in)
	for _, c := range out {
		if c >= utf8.RuneSelf {
			t.Fatalf("non-ASCII byte left in %s", out)
		}
	}
	var a, b map[string]string
	if json.Unmarshal(in, &a) != nil || json.Unmarshal(out, &b) != nil || a["s"] != b["s"] {
		t.Fatalf("%s does not decode to the same value as %s", out, in)
	}
}

func TestPrefixEnd(t *testing.T) {
	for in, want := range map[string]string{"a": "b", "ab": "ac", "c000": "c001", "a\U0010FFFF": "b", "\uD7FF": "\uE000"} {
		if got, ok := prefixEnd(in); !ok || got != want {
			t.Errorf("prefixEnd(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	if _, ok := prefixEnd("\U0010FFFF"); ok {
		t.Error("no string follows U+10FFFF")
	}
}

// TestDecodeLegacy reads the encodings the stores used before this package:
// runstate's D0..Dn with Chunks and a Status column, and the single Data
// property of connections, restore jobs and audit.
func TestDecodeLegacy(t *testing.T) {
	run := `{"PartitionKey":"env","RowKey":"r1","Status":"running","Chunks":2,"D0":"{\"id\":\"r1\",","D1":"\"status\":\"running\"}","odata.etag":"W/\"x\"","Timestamp":"2026-01-01T00:00:00Z"}`
	e, err := decode([]byte(run))
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Doc) != `{"id":"r1","status":"running"}` || e.Columns["Status"] != "running" || len(e.Columns) != 1 || e.ETag != `W/"x"` {
		t.Fatalf("runstate entity read as %+v", e)
	}
	env := `{"PartitionKey":"all","RowKey":"e1","Data":"{\"id\":\"e1\"}","ConnectionId":"c1","Url":"https://x"}`
	e, err = decode([]byte(env))
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Doc) != `{"id":"e1"}` || e.Columns["ConnectionId"] != "c1" || e.Columns["Url"] != "https://x" {
		t.Fatalf("connections entity read as %+v", e)
	}
	// A chunk missing from a new-style entity is an error, not a short document.
	if _, err := decode([]byte(`{"PartitionKey":"p","RowKey":"r","Data":"[1,","DataChunks":2}`)); err == nil {
		t.Fatal("missing chunk not reported")
	}
	if _, err := decode([]byte(`{"PartitionKey":"p","RowKey":"r"}`)); err == nil {
		t.Fatal("entity without a document not reported")
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	doc := `{"s":"` + strings.Repeat("é😀x", 20000) + `"}`
	raw, err := encode(Entity{PartitionKey: "p", RowKey: "r", Doc: []byte(doc), Columns: map[string]string{"Status": "ok"}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]string
	if json.Unmarshal([]byte(doc), &a) != nil || json.Unmarshal(e.Doc, &b) != nil || a["s"] != b["s"] || e.Columns["Status"] != "ok" {
		t.Fatal("round trip changed the document")
	}
	if err := Check(Entity{PartitionKey: "p", RowKey: "r", Doc: []byte(`{}`), Columns: map[string]string{"Data2": "x"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("reserved column: %v", err)
	}
}
