package dataversesim

import (
	"path/filepath"
	"testing"
)

func TestStatePersistence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.gob")
	s1, err := New(Options{Records: 100, Seed: 9, StateFile: file})
	if err != nil {
		t.Fatal(err)
	}
	e := s1.Demo()
	gone := e.IDs("account")[0]
	want(t, call(t, e, "DELETE", "accounts("+gone+")", nil), 204)
	kept := entityID(t, call(t, e, "POST", "accounts", map[string]any{"name": "survives"}))
	ver := e.Version()
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := Start(t, Options{Records: 100, Seed: 9, StateFile: file})
	e2 := s2.Demo()
	if _, ok := e2.Get("account", gone); ok {
		t.Fatal("deleted row came back")
	}
	if row, ok := e2.Get("account", kept); !ok || row["name"] != "survives" || e2.Version() != ver {
		t.Fatalf("after restart: %v version %d want %d", row, e2.Version(), ver)
	}
	// Same identities: the app user from before still works.
	want(t, call(t, e2, "GET", "WhoAmI()", nil), 200)
	if _, err := New(Options{Records: 100, Seed: 10, StateFile: file}); err == nil {
		t.Fatal("state with another seed accepted")
	}
}
