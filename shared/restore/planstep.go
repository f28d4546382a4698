package restore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// planStep plans a job (plan.Build against the target's first identity),
// stores the chunks and the predictions, and sends the first chunk message
// (a dry run finishes here).
func (e *Engine) planStep(ctx context.Context, j *Job, delivery int) error {
	if j.Status != StatusQueued && j.Status != StatusPlanning {
		return nil // planned already: a duplicate message
	}
	var req Request
	if err := getJSON(ctx, e.blobs, requestBlob(j.ID), &req); err != nil {
		return err
	}
	if j.Status == StatusQueued {
		j.Status, j.StartedAt = StatusPlanning, e.opts.Now().UTC()
		if err := e.store.UpdateJob(ctx, j); err != nil {
			return err
		}
	}
	fail := func(err error) error {
		if delivery < e.opts.MaxDeliveries && isTransient(err) {
			return err
		}
		_, uerr := e.store.ModifyJob(ctx, j.ID, func(x *Job) (bool, error) {
			x.Status, x.Error, x.FinishedAt = StatusFailed, "plan: "+err.Error(), e.opts.Now().UTC()
			x.Seconds = x.FinishedAt.Sub(x.CreatedAt).Seconds()
			return true, nil
		})
		return uerr
	}
	reads := &planReads{} // the throttles of the bypass check, for the job
	clients, err := e.dir.Clients(ctx, req.Target)
	if err != nil {
		return fail(err)
	}
	if len(clients) == 0 {
		return fail(fmt.Errorf("environment %s has no identity to write with", req.Target))
	}
	if req.Options.BypassBusinessLogic {
		if err := checkBypass(ctx, reads, clients); err != nil {
			return fail(err)
		}
	}
	target, err := NewTarget(ctx, clients[0], &e.opts.Target)
	if err != nil {
		return fail(err)
	}
	// The run and the runs it builds on must verify, unless the request
	// accepts restoring only the intact tables.
	src := e.opts.SourceFor(req.Environment, req.Run)
	dmg, err := backupformat.VerifyChain(ctx, e.blobs, req.Environment, req.Run)
	if err != nil {
		return fail(err)
	}
	var notes []string
	if len(dmg.Problems) > 0 {
		if !req.ProceedIfDamaged {
			return fail(&PermanentError{fmt.Sprintf("run %s fails verification (%s); nothing was restored: set proceedIfDamaged to restore the intact tables (damaged: %s)",
				req.Run, dmg, strings.Join(dmg.TableList(), ", "))})
		}
		notes = append(notes, fmt.Sprintf("run %s fails verification (%s); tables left out: %s", req.Run, dmg, strings.Join(dmg.TableList(), ", ")))
		src = intactSource{Source: src, skip: dmg.Tables}
	}
	pl, err := plan.Build(ctx, src, target, req.planRequest(j.ID, e.opts.ChunkSize))
	if err != nil {
		return fail(err)
	}
	notes = append(notes, pl.Notes...)
	if !req.DryRun {
		for i, ch := range pl.Chunks {
			if err := putJSON(ctx, e.blobs, chunkBlob(j.ID, i+1), ch); err != nil {
				return err
			}
		}
	}
	if err := e.store.PutResults(ctx, j.ID, planResults(pl, req.DryRun)); err != nil {
		return err
	}
	unm := pl.Unmapped
	j, err = e.store.ModifyJob(ctx, j.ID, func(x *Job) (bool, error) {
		if x.Status != StatusPlanning {
			return false, nil
		}
		x.Phases, x.Chunks, x.NextChunk = pl.Phases, len(pl.Chunks), 1
		x.Counts.Unmapped = len(unm)
		x.Unmapped = unm[:min(len(unm), 100)]
		x.Counts.NotWritable = len(pl.NotWritable)
		x.NotWritable = pl.NotWritable[:min(len(pl.NotWritable), 200)]
		x.Notes = notes
		x.Status = StatusRunning
		x.Throttled += int(reads.throttled.Load() + target.Throttled())
		if x.BatchSize == 0 {
			x.BatchSize = e.opts.InitialBatch
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	if req.DryRun || len(pl.Chunks) == 0 {
		return e.finish(ctx, j.ID, "")
	}
	return e.send(ctx, Message{Job: j.ID, Step: StepChunk, Chunk: 1}, 0)
}

// checkBypass makes sure every identity may bypass business logic.
func checkBypass(ctx context.Context, reads *planReads, clients []*dataverse.Client) error {
	for _, c := range clients {
		var ok bool
		var why string
		err := reads.retry(ctx, func() (err error) { ok, why, err = c.CanBypassBusinessLogic(ctx); return err })
		var re *dataverse.ResponseError
		if errors.As(err, &re) && re.StatusCode == 403 {
			// An identity without roles may not even read its own
			// roles: it certainly lacks the privilege.
			return &PermanentError{"bypassBusinessLogic was requested but an identity of the connection lacks prvBypassCustomBusinessLogic " +
				"(System Administrator role): it may not read its security roles (" + err.Error() + "); nothing was written"}
		}
		if err != nil {
			return fmt.Errorf("check the bypass privilege: %w", err)
		}
		if !ok {
			return &PermanentError{"bypassBusinessLogic was requested but " + why + "; nothing was written"}
		}
	}
	return nil
}

// planResults are the result rows of a plan: its operations planned (a dry
// run: predicted), its decisions that write nothing with their outcome.
func planResults(pl *plan.Plan, dryRun bool) []Result {
	planned := ResPlanned
	if dryRun {
		planned = ResPredicted
	}
	rows := make([]Result, 0, len(pl.Predictions))
	for _, p := range pl.Predictions {
		r := Result{Key: p.Key, Kind: p.Kind, Table: p.Table, Source: p.Source, ID: p.Target, Predict: p.Action,
			Reason: p.Reason, Message: p.Message, Warnings: p.Warnings, Diff: p.Diff, Cascade: p.Cascade}
		switch {
		case p.Planned:
			r.Status = planned
		case p.Action == plan.ActionConflict:
			r.Status = ResConflict
		case p.Action == plan.ActionFail:
			r.Status = ResFailed
		default:
			r.Status = ResSkipped
		}
		rows = append(rows, r)
	}
	return rows
}
