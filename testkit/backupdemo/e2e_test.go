package backupdemo_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/functions"
	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
	"github.com/cloudbackup-d365/cloudbackup/testkit/backupdemo"
)

// buildApp assembles the app folder as `make app-local` does: host.json,
// one folder per function with its function.json, and the handler built
// for this machine.
func buildApp(t *testing.T) string {
	t.Helper()
	root, err := azurite.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	host, err := os.ReadFile(filepath.Join(root, "host.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "host.json"), host, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range functions.Definitions() {
		b, _ := json.MarshalIndent(d.FunctionJSON(), "", "  ")
		if err := os.MkdirAll(filepath.Join(dir, d.Name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, d.Name, "function.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "handler"), "./cmd/handler")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build handler: %v\n%s", err, out)
	}
	return dir
}

func start(t *testing.T, o backupdemo.Options) *backupdemo.Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if o.AppDir == "" {
		o.AppDir = buildApp(t)
	}
	o.Progress = testWriter{t}
	logPath := filepath.Join(t.TempDir(), "handler.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	o.HandlerOutput = logf
	s, err := backupdemo.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		logf.Close()
		if t.Failed() { // the host's and handler's last words
			b, _ := os.ReadFile(logPath)
			lines := strings.Split(string(b), "\n")
			t.Logf("last log lines:\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// TestEndToEndFullAndIncremental is make demo's scenario through the
// real custom-handler protocol: the demo organization connected through
// the HTTP API, a full run, changes, an incremental run, both verified
// against the simulator (record states, checksums, files byte for byte).
func TestEndToEndFullAndIncremental(t *testing.T) {
	s := start(t, backupdemo.Options{Records: 500, Seed: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sum, err := backupdemo.Scenario(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(sum)
	t.Logf("summary: %s", b)
	if !sum.Backup.Verified || sum.Backup.Records == 0 || sum.Backup.Files == 0 || sum.Backup.IncrementalRecords == 0 {
		t.Fatalf("scenario did not hold: %s", b)
	}
	// The restore part (issue 13's acceptance scenario): accounts deleted
	// as a user does, Dataverse cascading to their contacts, opportunities,
	// cases, activities, parties and notes and clearing lookups on records
	// that stay; the deleted records back through the API and every record
	// the delete touched, survivors included, as before field by field.
	if r := sum.Restore; r == nil || !r.Identical || r.Restored != r.Deleted || r.Deleted < 20 || r.Parties == 0 || r.Links == 0 || r.Survivors == 0 ||
		r.Compared != r.Deleted+r.Parties+r.Survivors || r.CascadeRestored == 0 || r.Relinked == 0 {
		t.Fatalf("restore part did not hold: %s", b)
	}
}

// TestHandlerKilledMidRunResumes: the handler process is killed (twice)
// while a run is being extracted; the dev host restarts it, the messages in
// flight are redelivered, and the run completes with every record.
func TestHandlerKilledMidRunResumes(t *testing.T) {
	s := start(t, backupdemo.Options{Records: 1500, Seed: 4, LockDuration: 3 * time.Second})
	s.Sim.Demo().SetLatency(30 * time.Millisecond) // long enough a run to kill it mid-way
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	env, err := s.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.StartBackup(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	kills := 0
	for kills < 2 {
		// Kill once pages have been stored, i.e. mid-way through extraction.
		blobs, err := blobstore.Collect(s.Blobs.List(ctx, backupformat.ContainerBackups, backupformat.RunPrefix(env, id)+"tables/"))
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.Run(ctx, env, id)
		if err == nil && runstate.Terminal(r.Status) {
			break
		}
		if len(blobs) >= 3*(kills+1) {
			t.Logf("killing the handler with %d blobs stored", len(blobs))
			s.Host.KillHandler()
			kills++
		}
		time.Sleep(50 * time.Millisecond)
	}
	if kills == 0 {
		t.Fatal("the run ended before the handler could be killed")
	}
	r, err := s.Wait(ctx, env, id)
	if err != nil {
		dumpTasks(t, s, id)
		t.Fatal(err)
	}
	if r.Status != runstate.RunSucceeded {
		t.Fatalf("run after %d kills: %s (%s)", kills, r.Status, r.Reason)
	}
	n, probs, err := s.Verify(ctx, env, id)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("run after %d kills differs from the simulator: %v", kills, probs)
	}
	t.Logf("run %s survived %d kills: %d records, %d files", id, kills, r.Records, r.Files)
}

func dumpTasks(t *testing.T, s *backupdemo.Stack, run string) {
	svc, err := aztables.NewServiceClientFromConnectionString(s.Az.ConnectionString(), nil)
	if err != nil {
		t.Log(err)
		return
	}
	st, err := runstate.Open(context.Background(), svc)
	if err != nil {
		t.Log(err)
		return
	}
	tasks, err := st.ListTasks(context.Background(), run)
	if err != nil {
		t.Log(err)
		return
	}
	for _, tk := range tasks {
		t.Logf("task %s: %s mode %s phase %s page %d sent %d records %d reason %q", tk.Table, tk.Status, tk.Mode, tk.Phase, tk.Page, tk.Sent, tk.Records, tk.Reason)
	}
}

// TestScheduledRunsAndRetention: the ScheduleBackups timer (fired through
// the dev host) starts one run for the enabled environment, a second firing
// while it runs starts none, and ApplyRetention keeps the runs an
// incremental builds on. Service protection limits are on (a small budget),
// so 429s are met and waited out through delayed queue messages.
func TestScheduledRunsAndRetention(t *testing.T) {
	s := start(t, backupdemo.Options{Records: 300, Seed: 5,
		Limits: dataversesim.Limits{Enabled: true, Window: 2 * time.Second, MaxRequests: 60, MaxExecution: time.Hour, MaxConcurrent: 52}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env, err := s.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetPolicy(ctx, env, map[string]any{"enabled": true, "includeTables": []string{}, "excludeTables": []string{"postregarding", "postrole", "sharepointdocument"},
		"incremental": true, "fullEveryDays": 7, "retentionDays": 0, "retentionCount": 1}); err != nil {
		t.Fatal(err)
	}
	waitRuns := func(n int) []runstate.Run {
		t.Helper()
		for {
			runs, err := s.ListRuns(ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) >= n {
				return runs
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%d runs, want %d", len(runs), n)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	// The scaled limits bite only if requests come fast enough, which a loaded
	// machine may not manage; a burst of 429s makes sure throttling is met.
	s.Sim.Demo().InjectFault(dataversesim.Fault{Kind: dataversesim.Fault429, Count: 3})
	if err := s.FireTimer(ctx, "ScheduleBackups"); err != nil {
		t.Fatal(err)
	}
	first := waitRuns(1)[0]
	// Fire again while the first run is in progress (latency makes it last
	// seconds; the firing takes milliseconds): no second run may start.
	s.Sim.Demo().SetLatency(20 * time.Millisecond)
	if err := s.FireTimer(ctx, "ScheduleBackups"); err != nil {
		t.Fatal(err)
	}
	r1, err := s.Wait(ctx, env, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	s.Sim.Demo().SetLatency(0)
	if runs := waitRuns(1); len(runs) != 1 {
		t.Fatalf("a second run started while the first was in progress: %d runs", len(runs))
	}
	if r1.Status != runstate.RunSucceeded || r1.Trigger != runstate.TriggerSchedule || r1.Skipped != 0 {
		t.Fatalf("first scheduled run: %s trigger %s skipped %d (%s)", r1.Status, r1.Trigger, r1.Skipped, r1.Reason)
	}
	if _, err := s.Sim.Demo().Create("account", map[string]any{"name": "scheduled change"}); err != nil {
		t.Fatal(err)
	}
	r2, err := s.Backup(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Kind != "incremental" || r2.Status != runstate.RunSucceeded {
		t.Fatalf("second run: %s %s", r2.Kind, r2.Status)
	}
	if err := s.FireTimer(ctx, "ApplyRetention"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // the timer runs in the background; nothing to poll for "kept"
	runs, err := s.ListRuns(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 {
		t.Fatalf("after retention (count 1, run 2 builds on run 1): %d runs, want both kept", len(runs))
	}
	n, probs, err := s.Verify(ctx, env, r2.ID)
	if err != nil || n != 0 {
		t.Fatalf("verify run 2: %v %v", probs, err)
	}
	t.Logf("throttled %d + %d times", r1.Throttled, r2.Throttled)
	if r1.Throttled+r2.Throttled == 0 {
		t.Errorf("no 429 met: the limits did not bite")
	}
}
