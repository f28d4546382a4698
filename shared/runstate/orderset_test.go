package runstate

import (
	"encoding/json"
	"testing"
)

func TestOrderSet(t *testing.T) {
	var s OrderSet
	if !s.IsZero() || s.Has(0) {
		t.Fatal("new set not empty")
	}
	for _, i := range []int{0, 7, 8, 649, 7} {
		s.Add(i)
	}
	if s.Add(649) || s.Add(-1) || s.Len() != 4 || !s.Has(8) || s.Has(9) || s.Has(5000) {
		t.Fatalf("set: len %d", s.Len())
	}
	r := Run{Tracked: true, Ended: s}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Run
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Ended.Len() != 4 || !back.Ended.Has(649) || !back.Launched.IsZero() {
		t.Fatalf("round trip %s: %d", b, back.Ended.Len())
	}
	if len(b) > 400 {
		t.Errorf("run row JSON %d bytes for 650 orders", len(b))
	}
}
