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

	"github.com/cloudbackup-d365/cloudbackup/functions"
	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
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

// TestEndToEndFullAndIncremental is make demo's backup scenario through the
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
		blobs, err := s.Blobs.List(ctx, backupformat.ContainerBackups, backupformat.RunPrefix(env, id)+"tables/")
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
