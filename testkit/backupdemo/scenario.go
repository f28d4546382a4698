package backupdemo

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// Summary is the last line of make demo.
type Summary struct {
	Backup  BackupSummary   `json:"backup"`
	Restore *RestoreSummary `json:"restore,omitempty"`
}

// BackupSummary sums the scenario's backups.
type BackupSummary struct {
	Runs               int     `json:"runs"`
	Tables             int     `json:"tables"`
	Records            int64   `json:"records"`
	Files              int64   `json:"files"`
	Bytes              int64   `json:"bytes"`
	Seconds            float64 `json:"seconds"`
	Throttled          int64   `json:"throttled"`
	Verified           bool    `json:"verified"`
	IncrementalRecords int64   `json:"incrementalRecords"`
}

// Backup starts a run through the API and waits for it.
func (s *API) Backup(ctx context.Context, env string) (*runstate.Run, error) {
	start := time.Now()
	id, err := s.StartBackup(ctx, env)
	if err != nil {
		return nil, err
	}
	s.logf("backup %s started", id)
	r, err := s.Wait(ctx, env, id)
	if err != nil {
		return nil, err
	}
	s.logf("backup %s %s (%s): %d tables, %d records, %d deletes, %d files, %d bytes, %d throttled, %.1f s",
		r.ID, r.Status, r.Kind, r.Tables, r.Records, r.Deletes, r.Files, r.Bytes+r.FileBytes, r.Throttled, time.Since(start).Seconds())
	return r, nil
}

// Change makes the demo's changes in the simulator: updates, creates and
// deletes across tables. It returns how many records it touched.
func (s *Stack) Change() (int, error) {
	e := s.Sim.Demo()
	n := 0
	accs := e.IDs("account")
	for i := 0; i < 5 && i < len(accs); i++ {
		if err := e.Update("account", accs[i], map[string]any{"name": fmt.Sprintf("Renamed account %d", i)}); err != nil {
			return n, err
		}
		n++
	}
	// Three contacts deleted as a user deletes them (Dataverse cascades to
	// their cases and activities): not the anchor account's, which make
	// demo's restore part deletes, and none whose delete is restricted.
	anchor, _ := anchorAccount(newOrgIndex(e))
	cons := e.IDs("contact")
	for i, deleted := len(cons)-1, 0; i >= 0 && deleted < 3; i-- {
		row, _ := e.Get("contact", cons[i])
		if p, ok := row["parentcustomerid"].(dataversesim.Ref); ok && p.ID == anchor {
			continue
		}
		if _, _, restrictedBy := e.DeleteEffects("contact", cons[i]); restrictedBy != "" {
			continue
		}
		if err := e.Delete("contact", cons[i]); err != nil {
			return n, err
		}
		n++
		deleted++
	}
	for i := 0; i < 4; i++ {
		if _, err := e.Create("task", map[string]any{"subject": fmt.Sprintf("Demo follow-up %d", i)}); err != nil {
			return n, err
		}
		n++
	}
	if leads := e.IDs("lead"); len(leads) > 0 {
		if err := e.Update("lead", leads[0], map[string]any{"subject": "Changed by the demo"}); err != nil {
			return n, err
		}
		n++
	}
	s.logf("changed %d records in the simulator (updates, creates, deletes)", n)
	return n, nil
}

// Scenario is make demo: connect, full backup, changes, incremental backup,
// verify both runs; then delete accounts as a user does (Dataverse cascades)
// and restore the deleted records of the last run through the API, compared
// field by field with every record the delete touched (RestoreDeleted).
func Scenario(ctx context.Context, s *Stack) (Summary, error) {
	var sum Summary
	start := time.Now()
	env, err := s.Connect(ctx)
	if err != nil {
		return sum, err
	}
	full, err := s.Backup(ctx, env)
	if err != nil {
		return sum, err
	}
	nbad, probs, err := s.Verify(ctx, env, full.ID)
	if err != nil {
		return sum, err
	}
	s.logf("verified run %s: %d problems %v", full.ID, nbad, first(probs, 5))
	verified := nbad == 0 && full.Status == runstate.RunSucceeded
	before := s.SimState() // the old run must still give this state after the incremental
	if _, err := s.Change(); err != nil {
		return sum, err
	}
	inc, err := s.Backup(ctx, env)
	if err != nil {
		return sum, err
	}
	nbad, probs, err = s.Verify(ctx, env, inc.ID)
	if err != nil {
		return sum, err
	}
	s.logf("verified run %s: %d problems %v", inc.ID, nbad, first(probs, 5))
	verified = verified && nbad == 0 && inc.Status == runstate.RunSucceeded && inc.Kind == backupformat.KindIncremental
	nbad, probs, err = s.VerifyAgainst(ctx, env, full.ID, before)
	if err != nil {
		return sum, err
	}
	s.logf("verified run %s again after the incremental (the state of its time): %d problems %v", full.ID, nbad, first(probs, 5))
	verified = verified && nbad == 0
	m, err := backupformat.ReadManifest(ctx, s.Blobs, env, inc.ID)
	if err != nil {
		return sum, err
	}
	sum.Backup = BackupSummary{Runs: 2, Tables: m.Totals.Tables, Records: full.Records, Files: full.Files + inc.Files,
		Bytes: full.Bytes + full.FileBytes + inc.Bytes + inc.FileBytes, Seconds: time.Since(start).Seconds(),
		Throttled: full.Throttled + inc.Throttled, Verified: verified, IncrementalRecords: inc.Records + inc.Deletes}
	rs, err := s.RestoreDeleted(ctx, env, inc.ID)
	sum.Restore = &rs
	return sum, err
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
