package runstate_test

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
)

// LatestRuns answers each environment's newest run in one query, whether
// it is in progress (its "~active" row is not taken for a run) or ended;
// LatestRun answers one environment, nil when it has no run.
func TestLatestRuns(t *testing.T) {
	ctx := context.Background()
	svc, err := aztables.NewServiceClientFromConnectionString(azurite.Start(t).ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	s, err := runstate.OpenWithClock(ctx, svc, func() time.Time { now = now.Add(time.Minute); return now })
	if err != nil {
		t.Fatal(err)
	}
	end := func(r *runstate.Run) {
		t.Helper()
		if _, err := s.ModifyRun(ctx, r.Environment, r.ID, func(x *runstate.Run) (bool, error) { x.Status = runstate.RunSucceeded; return true, nil }); err != nil {
			t.Fatal(err)
		}
		if err := s.ReleaseRun(ctx, r.Environment, r.ID); err != nil {
			t.Fatal(err)
		}
	}
	create := func(env string) *runstate.Run {
		t.Helper()
		r, err := s.CreateRun(ctx, env, runstate.TriggerSchedule)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a1 := create("a")
	end(a1)
	b1 := create("b")
	end(b1)
	a2 := create("a") // in progress: env a has its "~active" row
	if id, _ := s.ActiveRun(ctx, "a"); id != a2.ID {
		t.Fatalf("active run of a: %q, want %s", id, a2.ID)
	}

	got, err := s.LatestRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["a"] == nil || got["a"].ID != a2.ID || got["a"].Status != runstate.RunPending ||
		got["b"] == nil || got["b"].ID != b1.ID || got["b"].Status != runstate.RunSucceeded {
		t.Errorf("latest runs: %v, want a=%s (pending), b=%s (succeeded)", got, a2.ID, b1.ID)
	}
	for env, want := range map[string]string{"a": a2.ID, "b": b1.ID, "c": ""} {
		r, err := s.LatestRun(ctx, env)
		switch {
		case err != nil:
			t.Errorf("latest run of %s: %v", env, err)
		case want == "" && r != nil:
			t.Errorf("latest run of %s (no runs): %+v", env, r)
		case want != "" && (r == nil || r.ID != want || r.ETag == ""):
			t.Errorf("latest run of %s: %+v, want %s with its ETag", env, r, want)
		}
	}
}
