package wiring

import (
	"slices"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
)

// A registered environment's policy becomes the engine's: disabled or gone
// environments are never due, incrementals need both the switch and a full
// interval, and the lists and retention carry over.
func TestBackupEnvironment(t *testing.T) {
	p := connections.Policy{Enabled: true, Schedule: "0 0 2 * * *", IncludeTables: []string{"account"}, ExcludeTables: []string{"email"},
		Incremental: true, FullEveryDays: 7, RetentionDays: 30, RetentionCount: 5}
	e := BackupEnvironment(connections.Environment{ID: "e1", URL: "https://org.crm.dynamics.com", State: connections.StateActive, Policy: p})
	if e.ID != "e1" || e.URL != "https://org.crm.dynamics.com" || !e.Policy.Enabled || e.Policy.AlwaysFull ||
		e.Policy.FullEvery != 7*24*time.Hour || e.Policy.Schedule != p.Schedule || e.Policy.RetentionDays != 30 || e.Policy.RetentionCount != 5 ||
		!slices.Equal(e.Policy.Include, p.IncludeTables) || !slices.Equal(e.Policy.Exclude, p.ExcludeTables) {
		t.Errorf("active environment: %+v", e)
	}
	for _, state := range []string{connections.StateDisabled, connections.StateGone} {
		if e := BackupEnvironment(connections.Environment{ID: "e1", State: state, Policy: p}); e.Policy.Enabled {
			t.Errorf("%s environment is enabled for backup", state)
		}
	}
	for _, q := range []connections.Policy{{Enabled: true, Incremental: false, FullEveryDays: 7}, {Enabled: true, Incremental: true, FullEveryDays: 0}} {
		if e := BackupEnvironment(connections.Environment{ID: "e1", State: connections.StateActive, Policy: q}); !e.Policy.AlwaysFull {
			t.Errorf("policy %+v: not always full", q)
		}
	}
}
