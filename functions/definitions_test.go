package functions

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
)

var update = flag.Bool("update", false, "rewrite the function.json files from Definitions()")

// TestFunctionJSONMatchesDefinitions checks every committed function.json
// against the Go definitions, so queue names, the Service Bus connection
// setting, schedules and routes come from one place.
func TestFunctionJSONMatchesDefinitions(t *testing.T) {
	defs := Definitions()
	seen := map[string]bool{}
	for _, d := range defs {
		path := filepath.Join(d.Name, "function.json")
		want := d.FunctionJSON()
		if *update {
			b, _ := json.MarshalIndent(want, "", "  ")
			if err := os.MkdirAll(d.Name, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (run go test ./functions -update)", d.Name, err)
			continue
		}
		var got, wantNorm map[string]any
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Errorf("%s: not JSON: %v", path, err)
			continue
		}
		b, _ := json.Marshal(want)
		_ = json.Unmarshal(b, &wantNorm)
		if !reflect.DeepEqual(got, wantNorm) {
			t.Errorf("%s differs from Definitions():\n got %s\nwant %s", path, raw, b)
		}
		seen[d.Name] = true
	}
	// No stray function folder the Go code does not know about.
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(e.Name(), "function.json")); err == nil && !seen[e.Name()] {
			t.Errorf("function folder %s has no entry in Definitions()", e.Name())
		}
	}
}

// TestEveryQueueHasATrigger makes sure each queue the code sends to is consumed.
func TestEveryQueueHasATrigger(t *testing.T) {
	var triggered []string
	for _, d := range Definitions() {
		if d.Trigger == ServiceBusTrigger {
			triggered = append(triggered, d.Queue)
			if !slices.Contains(messaging.Queues(), d.Queue) {
				t.Errorf("%s is triggered from queue %q which is not in messaging.Queues()", d.Name, d.Queue)
			}
		}
	}
	for _, q := range messaging.Queues() {
		if !slices.Contains(triggered, q) {
			t.Errorf("queue %q has no serviceBusTrigger function", q)
		}
	}
}
