package backupdemo_test

// Platform scenarios of issue 9 through the real parts: Azurite, the
// simulator over TLS, the dev host and the real handler process.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
	"github.com/cloudbackup-d365/cloudbackup/testkit/backupdemo"
)

// apiJSON calls the stack's API with its function key.
func apiJSON(ctx context.Context, t *testing.T, s *backupdemo.Stack, method, path string, in, out any) int {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.API.Base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-functions-key", s.API.Key)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		_ = json.Unmarshal(raw, out)
	}
	return resp.StatusCode
}

type restoreJob struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Error  string `json:"error"`
	Counts struct {
		Created int `json:"created"`
		Failed  int `json:"failed"`
	} `json:"counts"`
}

// TestHandlerKilledAtRandomPointsOfRunAndRestore: the handler process is
// killed at seeded random moments of a backup run (from the scan on) and
// of a restore job; the dev host restarts it and redelivers what was in
// flight. The run is exact and complete; the restore puts every deleted
// account (and the notes its delete cascaded to) back exactly once.
func TestHandlerKilledAtRandomPointsOfRunAndRestore(t *testing.T) {
	s := start(t, backupdemo.Options{Records: 800, Seed: 41, LockDuration: 2 * time.Second})
	// Latency keeps the run long enough to be killed in: since runs move
	// on from their run row a full backup of this org takes about a second.
	s.Sim.Demo().SetLatency(80 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rng := rand.New(rand.NewPCG(41, 9))
	env, err := s.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.StartBackup(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	kills := killAtRandom(t, s, rng, 3, 2500*time.Millisecond, func() bool {
		r, err := s.Run(ctx, env, id)
		return err == nil && runstate.Terminal(r.Status)
	})
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
	if n, probs, err := s.Verify(ctx, env, id); err != nil || n != 0 {
		t.Fatalf("run after %d kills differs from the simulator: %v %v", kills, probs, err)
	}
	t.Logf("run survived %d kills", kills)

	// Restore: 25 accounts deleted as a user deletes them (Dataverse
	// cascades to their contacts and activities and clears lookups to them;
	// accounts with orders or invoices refuse the delete, Restrict, so they
	// are passed over), restored while the handler is killed.
	e := s.Sim.Demo()
	var victims []string
	for _, a := range e.IDs("account") {
		deleted, _, restrictedBy := e.DeleteEffects("account", a)
		if restrictedBy != "" {
			continue
		}
		for _, d := range deleted[1:] {
			if strings.HasPrefix(d, "account/") {
				t.Fatalf("deleting account %s would cascade to %s: the count below assumes accounts go only when deleted", a, d)
			}
		}
		if victims = append(victims, a); len(victims) == 25 {
			break
		}
	}
	if len(victims) < 25 {
		t.Fatalf("only %d accounts can be deleted", len(victims))
	}
	// The accounts' notes go with them (Cascade) and come back with them
	// (options.notes).
	isVictim := map[string]bool{}
	for _, v := range victims {
		isVictim[v] = true
	}
	var notes []string
	for _, id := range e.IDs("annotation") {
		row, _ := e.Get("annotation", id)
		if ref, ok := row["objectid"].(dataversesim.Ref); ok && ref.Table == "account" && isVictim[ref.ID] {
			notes = append(notes, id)
		}
	}
	before := e.Count("account")
	for _, v := range victims {
		if err := e.Delete("account", v); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.Count("account"); got != before-len(victims) {
		t.Fatalf("%d accounts after deleting %d of %d", got, len(victims), before)
	}
	var job restoreJob
	if st := apiJSON(ctx, t, s, "POST", "/restores", map[string]any{"environment": env, "run": id,
		"scope": map[string]any{"tables": []string{"account"}, "deleted": true}}, &job); st != http.StatusAccepted || job.ID == "" {
		t.Fatalf("start restore: %d %+v", st, job)
	}
	rkills := killAtRandom(t, s, rng, 2, 600*time.Millisecond, func() bool {
		var j restoreJob
		apiJSON(ctx, t, s, "GET", "/restores/"+job.ID, nil, &j)
		return j.Status == "succeeded" || j.Status == "partial" || j.Status == "failed"
	})
	for {
		apiJSON(ctx, t, s, "GET", "/restores/"+job.ID, nil, &job)
		if job.Status == "succeeded" || job.Status == "partial" || job.Status == "failed" {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("restore still %s", job.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("restore survived %d kills: %+v", rkills, job)
	if rkills == 0 {
		t.Log("the restore ended before a kill landed (only the run was exercised by kills this time)")
	}
	if job.Status != "succeeded" || job.Counts.Created != len(victims)+len(notes) {
		t.Fatalf("restore: %s created %d (error %q), want succeeded with %d accounts and their %d notes", job.Status, job.Counts.Created, job.Error, len(victims), len(notes))
	}
	if got := e.Count("account"); got != before {
		t.Errorf("%d accounts after the restore, %d before the deletion", got, before)
	}
	for _, v := range victims {
		if _, ok := e.Get("account", v); !ok {
			t.Errorf("account %s not restored", v)
		}
	}
	for _, n := range notes {
		if _, ok := e.Get("annotation", n); !ok {
			t.Errorf("note %s of a deleted account not restored", n)
		}
	}
}

// killAtRandom kills the handler up to n times at random moments within
// spread of each other, until done reports the work ended.
func killAtRandom(t *testing.T, s *backupdemo.Stack, rng *rand.Rand, n int, spread time.Duration, done func() bool) int {
	kills := 0
	for kills < n {
		wait := time.Duration(rng.Int64N(int64(spread)))
		time.Sleep(wait)
		if done() {
			break
		}
		s.Host.KillHandler()
		kills++
		t.Logf("handler killed after %s (kill %d)", wait.Round(time.Millisecond), kills)
	}
	return kills
}

// TestPoisonAndSecretsThroughDevHost: through the dev host with three
// deliveries at most, a page that can never be read (lead answers 503 to
// every request) ends its table failed with the reason on the last
// delivery, the run partial, and the HTTP API shows both; a message the
// handler cannot process at all ends in extract-poison. The token endpoint
// fails at the start (a failing token request). Every log line of the host
// and the handler and every API answer are then searched for the
// connection's secrets and for access tokens.
func TestPoisonAndSecretsThroughDevHost(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "all.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	o := backupdemo.Options{Records: 120, Seed: 42, MaxDeliveryCount: 3, LockDuration: 2 * time.Second, AppDir: buildApp(t), HandlerOutput: logf}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := backupdemo.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Sim.InjectTokenFault(dataversesim.Fault{Kind: dataversesim.Fault503, Count: 2})
	s.Sim.Demo().InjectFault(dataversesim.Fault{Kind: dataversesim.Fault503, Count: 100000, Path: "/leads"})
	var answers bytes.Buffer
	env, err := s.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.StartBackup(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := azqueue.NewServiceClientFromConnectionString(s.Az.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	garbage := "{\"environment\":\"" + env + "\",\"run\":" // truncated JSON: never decodable
	if _, err := qs.NewQueueClient(messaging.QueueExtract).EnqueueMessage(ctx, garbage, nil); err != nil {
		t.Fatal(err)
	}
	r, err := s.Wait(ctx, env, id)
	if err != nil {
		dumpTasks(t, s, id)
		t.Fatal(err)
	}
	var run map[string]any
	if st := apiJSON(ctx, t, s, "GET", "/backups/"+env+"/"+id, nil, &run); st != 200 {
		t.Fatalf("GET run: %d", st)
	}
	b, _ := json.Marshal(run)
	answers.Write(b)
	if r.Status != runstate.RunPartial || run["status"] != "partial" || !strings.Contains(fmt.Sprint(run["reason"]), "lead") {
		t.Errorf("run through the API: %s", b)
	}
	var tables map[string]any
	apiJSON(ctx, t, s, "GET", "/backups/"+env+"/"+id+"/tables", nil, &tables)
	b, _ = json.Marshal(tables)
	answers.Write(b)
	found := false
	for _, v := range tables["value"].([]any) {
		tm := v.(map[string]any)
		if tm["name"] == "lead" || tm["table"] == "lead" {
			found = true
			reason := fmt.Sprint(tm["reason"])
			if tm["status"] != "failed" || !strings.Contains(reason, "3 deliveries") || !strings.Contains(reason, "503") {
				t.Errorf("lead through the API: %v", tm)
			}
		}
	}
	if !found {
		t.Errorf("the API lists no lead table: %s", b)
	}
	// The undecodable message is in extract-poison.
	poison := qs.NewQueueClient(messaging.PoisonQueue(messaging.QueueExtract))
	for {
		n := int32(10)
		resp, err := poison.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: &n})
		if err == nil && len(resp.Messages) > 0 {
			if len(resp.Messages) != 1 || *resp.Messages[0].MessageText != garbage {
				t.Errorf("extract-poison holds %d message(s), want only the undecodable one", len(resp.Messages))
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the undecodable message never reached extract-poison")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Secrets: nowhere in the logs of the host and the handler, nor in the answers.
	s.Close()
	logs, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(logs, []byte("moved to poison")) || !bytes.Contains(logs, []byte("table failed")) {
		t.Fatalf("the captured logs lack the poison and failure lines: the check would prove nothing (%d bytes)", len(logs))
	}
	all := string(logs) + answers.String()
	for _, app := range s.Sim.SecretClients() {
		if strings.Contains(all, app.Secret) {
			t.Errorf("the client secret of %s appears in logs or answers", app.ClientID)
		}
	}
	if i := strings.Index(all, "eyJ"); i >= 0 {
		t.Errorf("a JWT appears in logs or answers: %q", all[max(0, i-80):min(len(all), i+40)])
	}
}
