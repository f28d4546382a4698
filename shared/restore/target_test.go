package restore_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan/plantest"
)

// readLog records the collection reads (GETs outside the metadata) a
// client sends.
type readLog struct {
	next http.RoundTripper
	mu   sync.Mutex
	urls []string
}

func (l *readLog) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/api/data/") && !strings.Contains(r.URL.Path, "EntityDefinitions") {
		l.mu.Lock()
		l.urls = append(l.urls, r.URL.Path+"?"+r.URL.Query().Get("$filter"))
		l.mu.Unlock()
	}
	return l.next.RoundTrip(r)
}

func (l *readLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.urls
	l.urls = nil
	return out
}

// simTarget returns the Dataverse target of the simulator's demo
// environment, its read log, and the facts the conformance suite checks.
func simTarget(t *testing.T, o restore.TargetOptions) (*restore.DataverseTarget, *readLog, plantest.Facts) {
	t.Helper()
	sim := dataversesim.Start(t, dataversesim.Options{Seed: 3, Records: 60})
	e := sim.Demo()
	log := &readLog{next: sim.Client().Transport}
	c, err := simClient(sim, e.URL(), sim.SecretClients()[0], log)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := restore.NewTarget(context.Background(), c, &o)
	if err != nil {
		t.Fatal(err)
	}
	f := plantest.Facts{Table: "account", IDs: e.IDs("account")[:10], KeyTable: "systemuser", KeyColumn: "domainname",
		RelationshipOf: "account", Intersect: "cr1_account_cr1_project",
		// account.md: contact_customer_accounts is parental (Delete Cascade).
		Cascade: &plan.Relationship{Referenced: "account", Referencing: "contact", Attribute: "parentcustomerid", Delete: plan.DeleteCascade}}
	for _, id := range e.IDs("systemuser") {
		if row, _ := e.Get("systemuser", id); row["domainname"] != nil {
			f.KeyID, f.KeyValue = id, row["domainname"].(string)
			break
		}
	}
	links := e.IDs("cr1_account_cr1_project")
	if f.KeyID == "" || len(links) == 0 {
		t.Fatal("the seed has no user with a domain name, or no account-project link")
	}
	row, _ := e.Get("cr1_account_cr1_project", links[0])
	f.Linked = plan.Link{ID1: row["accountid"].(string), ID2: row["cr1_projectid"].(string)}
	for _, p := range e.IDs("cr1_project") {
		if !contains(e.Associated("cr1_account_cr1_project", f.Linked.ID1), p) {
			f.Unlinked = plan.Link{ID1: f.Linked.ID1, ID2: p}
			break
		}
	}
	if f.Unlinked.ID2 == "" {
		t.Fatal("the first linked account is linked to every project")
	}
	return tgt, log, f
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestDataverseTargetConforms runs the plan.Target suite on the simulator,
// once asking for records by id (3 a request, so the suite's 10 ids take
// several) and once above the scan threshold.
func TestDataverseTargetConforms(t *testing.T) {
	t.Run("ByID", func(t *testing.T) {
		tgt, _, f := simTarget(t, restore.TargetOptions{IDsPerRequest: 3})
		plantest.VerifyTarget(t, tgt, f)
	})
	t.Run("Scan", func(t *testing.T) {
		tgt, _, f := simTarget(t, restore.TargetOptions{ScanAbove: 2})
		plantest.VerifyTarget(t, tgt, f)
	})
}

// TestDataverseTargetReadsByID: records are read with a $filter on their
// ids, in requests of IDsPerRequest ids, never by reading the table; above
// ScanAbove ids the table is read instead.
func TestDataverseTargetReadsByID(t *testing.T) {
	ctx := context.Background()
	tgt, log, f := simTarget(t, restore.TargetOptions{IDsPerRequest: 4, ScanAbove: 8})
	if _, err := tgt.Table(ctx, "account"); err != nil {
		t.Fatal(err)
	}
	log.take() // the metadata
	got, err := tgt.Records(ctx, "account", f.IDs[:7])
	if err != nil || len(got) != 7 {
		t.Fatalf("records: %d, %v", len(got), err)
	}
	reads := log.take()
	if len(reads) != 2 {
		t.Fatalf("7 ids at 4 a request took %d reads: %v", len(reads), reads)
	}
	for _, r := range reads {
		if !strings.Contains(r, "accountid eq ") || strings.Count(r, " or ") > 3 {
			t.Errorf("read %q is not a filter on at most 4 ids", r)
		}
	}
	if got, err := tgt.Existing(ctx, "account", f.IDs[:9]); err != nil || len(got) != 9 {
		t.Fatalf("existing: %d, %v", len(got), err)
	}
	if reads := log.take(); len(reads) != 1 || strings.Contains(reads[0], " eq ") {
		t.Errorf("9 ids above the scan threshold of 8: reads %v, want one read of the table", reads)
	}
	if _, err := tgt.Records(ctx, "account", []string{"not-a-guid"}); err == nil {
		t.Error("a malformed id was put in a filter")
	}
}
