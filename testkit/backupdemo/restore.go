package backupdemo

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// RestoreSummary is the restore member of make demo's summary line.
type RestoreSummary struct {
	// Deleted is how many records the delete removed: the accounts and the
	// project the demo deleted and what cascaded from them, activity
	// parties aside (Parties).
	Deleted int `json:"deleted"`
	// Restored is how many records the restore job created.
	Restored int `json:"restored"`
	// Links is how many N:N links the delete removed.
	Links     int     `json:"links"`
	Identical bool    `json:"identical"`
	Seconds   float64 `json:"seconds"`
	Job       string  `json:"job"`
	Status    string  `json:"status"`
	// CascadeRestored, Relinked and NotWritable are the restore job's
	// counts: records a Cascade delete removed and the job brought back,
	// lookups a RemoveLink delete cleared on surviving records and the job
	// set again, and columns it could not write.
	CascadeRestored int `json:"cascadeRestored"`
	Relinked        int `json:"relinked"`
	NotWritable     int `json:"notWritable"`
	// Parties is how many activity parties went with their activities
	// (and come back with them: activityparty has no Create message).
	Parties int `json:"parties"`
	// Survivors is how many records the delete changed but kept (lookups
	// cleared, parties marked deleted); Compared how many records the
	// comparison checked field by field (deleted, parties and survivors).
	Survivors int `json:"survivors"`
	Compared  int `json:"compared"`
	// NotWritableColumns are the columns ("table.column") that differ after
	// the restore because Dataverse does not let a client set them; the
	// comparison excludes only these.
	NotWritableColumns []string `json:"notWritableColumns"`
}

// RestoreDeleted is make demo's restore part, issue 13's acceptance
// scenario: delete accounts as a user does (the anchor account with its
// contacts, child account, won opportunity, resolved case, emails and
// appointment; a project with a file and its N:N link), letting the
// simulator cascade; preview the restore of the deleted records of run
// (dry run), then run it, both through the HTTP API; compare every record
// the delete touched, survivors included, with its state before the
// delete. The job must do what its dry run predicted.
func (s *Stack) RestoreDeleted(ctx context.Context, env, run string) (RestoreSummary, error) {
	var sum RestoreSummary
	e := s.Sim.Demo()
	d, err := planDeletion(e)
	if err != nil {
		return sum, err
	}
	before := takeSnapshot(e, d)
	if sum.Links, err = d.apply(e, before); err != nil {
		return sum, err
	}
	sum.Parties = d.count("activityparty")
	sum.Deleted, sum.Survivors = len(d.deleted)-sum.Parties, len(d.survivors)
	s.logf("deleted %d accounts and a project: %d records went (%d contacts, %d opportunities, %d cases, %d activities with %d parties, %d notes), %d N:N links; %d records changed and stayed (lookups cleared, parties marked deleted)",
		d.count("account"), sum.Deleted, d.count("contact"), d.count("opportunity"), d.count("incident"),
		d.count("email")+d.count("appointment")+d.count("phonecall")+d.count("letter")+d.count("fax")+d.count("task"), sum.Parties, d.count("annotation"), sum.Links, sum.Survivors)

	// The dry run first: what the job will create, relink and not write.
	req := restore.Request{Environment: env, Run: run, Scope: plan.Scope{Deleted: true}}
	preview := req
	preview.DryRun = true
	dry, _, err := s.runRestore(ctx, preview)
	if err != nil {
		return sum, err
	}
	s.logf("dry run %s %s: %d to create (%d cascade), %d lookups to relink, %d columns not writable",
		dry.ID, dry.Status, dry.Counts.Created, dry.Counts.CascadeRestored, dry.Counts.Relinked, dry.Counts.NotWritable)

	start := time.Now()
	job, unwritten, err := s.runRestore(ctx, req)
	sum.Job, sum.Status = job.ID, job.Status
	if err != nil {
		return sum, err
	}
	sum.Seconds = time.Since(start).Seconds()
	sum.Restored = job.Counts.Created
	sum.CascadeRestored, sum.Relinked, sum.NotWritable = job.Counts.CascadeRestored, job.Counts.Relinked, job.Counts.NotWritable

	c := compareWith(e, before, unwritten)
	sum.Compared = c.compared
	sum.NotWritableColumns = c.columnsNotWritable()
	sum.Identical = len(c.differences) == 0 && job.Status == restore.StatusSucceeded
	s.logf("restore %s %s in %.1f s: %d created (%d cascade), %d updated, %d relinked, %d skipped, %d failed, %d links, %d columns not writable",
		job.ID, job.Status, sum.Seconds, job.Counts.Created, sum.CascadeRestored, job.Counts.Updated, sum.Relinked, job.Counts.Skipped, job.Counts.Failed, job.Counts.Associations, sum.NotWritable)
	s.logf("compared %d records (%d deleted, %d parties, %d survivors) and %d N:N links field by field: %d differences %v",
		c.compared, sum.Deleted, sum.Parties, sum.Survivors, c.links, len(c.differences), first(c.differences, 10))
	for _, col := range sum.NotWritableColumns {
		s.logf("  not writable, excluded: %s differs in %d records (%s)", col, c.notWritable[col], c.reasons[col])
	}
	for _, col := range sortedKeys(c.setByRestore) {
		s.logf("  set by the restore: %s in %d records (createdon is kept through it)", col, c.setByRestore[col])
	}
	if c.newPartyIDs > 0 {
		s.logf("  %d activity parties are back with ids Dataverse gave them (written with their activity), matched by role, party and address", c.newPartyIDs)
	}
	if job.Status != restore.StatusSucceeded {
		return sum, fmt.Errorf("restore %s ended %s: %s%s", job.ID, job.Status, job.Error, s.failures(ctx, job.ID))
	}
	if p, j := [3]int{dry.Counts.Created, dry.Counts.CascadeRestored, dry.Counts.Relinked}, [3]int{job.Counts.Created, job.Counts.CascadeRestored, job.Counts.Relinked}; p != j {
		sum.Identical = false
		return sum, fmt.Errorf("the dry run %s predicted %d created, %d cascade, %d relinked; the job %s did %d, %d, %d", dry.ID, p[0], p[1], p[2], job.ID, j[0], j[1], j[2])
	}
	return sum, nil
}

// failures describes the first failed records of a job's report.
func (s *API) failures(ctx context.Context, job string) string {
	var rep struct {
		Records []restore.RecordResult `json:"records"`
	}
	if _, err := s.call(ctx, http.MethodGet, "/restores/"+job+"/report.json", nil, &rep); err != nil {
		return " (report: " + err.Error() + ")"
	}
	var out []string
	n := 0
	for _, r := range rep.Records {
		if r.Status == restore.ResFailed {
			if n++; len(out) < 5 {
				out = append(out, fmt.Sprintf("%s %s %s: %s %s", r.Kind, r.Table, r.Source, r.Code, r.Message))
			}
		}
	}
	return fmt.Sprintf(" %d failed %v", n, out)
}

// runRestore starts a restore job through the API and waits for its end. It
// returns the job and the columns it lists as not writable.
func (s *API) runRestore(ctx context.Context, req restore.Request) (restore.Job, listed, error) {
	var job restore.Job
	if _, err := s.call(ctx, http.MethodPost, "/restores", req, &job); err != nil {
		return job, nil, err
	}
	what := "restore"
	if req.DryRun {
		what = "dry run"
	}
	s.logf("%s %s started: deleted records of run %s", what, job.ID, req.Run)
	for !restore.Terminal(job.Status) {
		select {
		case <-ctx.Done():
			return job, nil, fmt.Errorf("waiting for restore %s (%s): %w", job.ID, job.Status, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
		if _, err := s.call(ctx, http.MethodGet, "/restores/"+job.ID, nil, &job); err != nil {
			return job, nil, err
		}
	}
	l := listed{}
	for _, n := range job.NotWritable {
		l[n.Table+"."+n.Column] = n.Reason
	}
	if len(job.NotWritable) < job.Counts.NotWritable {
		// The job keeps the first 200; a column beyond them that differs
		// is reported as a difference, never passed over.
		s.logf("restore %s lists %d of the %d columns it could not write", job.ID, len(job.NotWritable), job.Counts.NotWritable)
	}
	return job, l, nil
}
