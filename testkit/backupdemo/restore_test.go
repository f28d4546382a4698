package backupdemo

import (
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
)

// The demo's comparison must see every kind of loss: a missing record, a
// changed field, a lost N:N link.
func TestDiffSeesDifferences(t *testing.T) {
	s := dataversesim.Start(t, dataversesim.Options{Records: 500, Seed: 3})
	e := s.Demo()
	keys, err := victimSet(e, 3)
	if err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(e, keys)
	if d := diff(e, before); len(d) != 0 {
		t.Fatalf("unchanged state differs: %v", d)
	}
	var account, contact string
	for _, k := range keys {
		switch {
		case k.table == "account" && account == "":
			account = k.id
		case k.table == "contact" && contact == "":
			contact = k.id
		}
	}
	if err := e.Update("contact", contact, map[string]any{"firstname": "Changed"}); err != nil {
		t.Fatal(err)
	}
	if d := diff(e, before); len(d) != 1 {
		t.Errorf("one changed field: %v", d)
	}
	if err := e.Delete("account", account); err != nil {
		t.Fatal(err)
	}
	if d := diff(e, before); len(d) < 2 {
		t.Errorf("deleted account (and its N:N link) not seen: %v", d)
	}
}
