package functions

import (
	"strings"
	"testing"
)

// New refuses an incomplete Deps, naming every missing part, rather than
// building parts itself or failing on first use.
func TestNewNamesMissingDeps(t *testing.T) {
	_, err := New(Deps{})
	if err == nil {
		t.Fatal("New(Deps{}) succeeded")
	}
	for _, name := range []string{"Log", "Config", "Backup", "Restore", "Connections", "Audit", "Storage"} {
		if !strings.Contains(err.Error(), "Deps."+name) {
			t.Errorf("%v does not name Deps.%s", err, name)
		}
	}
	if strings.Contains(err.Error(), "Deps.Now") {
		t.Errorf("%v: Now has a default", err)
	}
}
