package backup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/ncrontab"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// ScheduleResult says what a scheduler pass did.
type ScheduleResult struct {
	Started []string `json:"started"` // run ids
	Skipped []string `json:"skipped"` // "env: reason"
}

// Schedule creates a run for every enabled environment that is due and has
// no run in progress (never two runs of one environment at once). A run
// that made no progress for Options.StallAfter is ended first (see
// EndStalled), so a lost message cannot block an environment forever.
func (e *Engine) Schedule(ctx context.Context) (ScheduleResult, error) {
	var res ScheduleResult
	envs, err := e.dir.ListEnvironments(ctx)
	if err != nil {
		return res, fmt.Errorf("list environments: %w", err)
	}
	now := e.opts.Now().UTC()
	var errs []error
	for _, env := range envs {
		if !env.Policy.Enabled {
			continue
		}
		due, why, err := e.due(ctx, env, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", env.ID, err))
			continue
		}
		if !due {
			res.Skipped = append(res.Skipped, env.ID+": "+why)
			continue
		}
		r, err := e.StartRun(ctx, env.ID, runstate.TriggerSchedule)
		if IsActive(err) {
			res.Skipped = append(res.Skipped, env.ID+": "+err.Error())
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", env.ID, err))
			continue
		}
		res.Started = append(res.Started, r.ID)
	}
	return res, errors.Join(errs...)
}

func (e *Engine) due(ctx context.Context, env Environment, now time.Time) (bool, string, error) {
	runs, err := e.state.ListRuns(ctx, env.ID)
	if err != nil {
		return false, "", err
	}
	var last *runstate.Run
	for _, r := range runs {
		if !runstate.Terminal(r.Status) {
			ended, err := e.EndStalled(ctx, r, now)
			if err != nil {
				return false, "", err
			}
			if !ended {
				return false, "run " + r.ID + " in progress", nil
			}
			continue
		}
		last = r
	}
	if last != nil && env.Policy.MinInterval > 0 && now.Sub(last.CreatedAt) < env.Policy.MinInterval {
		return false, "last run " + last.ID + " is recent", nil
	}
	if env.Policy.Schedule != "" && last != nil {
		sched, err := ncrontab.Parse(env.Policy.Schedule)
		if err != nil {
			// The API validates schedules; a bad one stored some other way must
			// not stop the environment from being backed up at all.
			return true, "", nil
		}
		// A schedule that never fires (refused by the API) is treated the same.
		if next := sched.Next(last.CreatedAt); !next.IsZero() && next.After(now) {
			return false, "next scheduled run at " + next.Format(time.RFC3339) + " (policy schedule " + env.Policy.Schedule + ")", nil
		}
	}
	return true, "", nil
}

// EndStalled ends run if neither it nor any of its tasks changed for
// Options.StallAfter: unfinished tables are marked failed with the reason
// and the run is finalized. It reports whether the run was ended.
func (e *Engine) EndStalled(ctx context.Context, r *runstate.Run, now time.Time) (bool, error) {
	last := r.UpdatedAt
	if last.IsZero() {
		last = r.CreatedAt
	}
	tasks, err := e.state.ListTasks(ctx, r.ID)
	if err != nil {
		return false, err
	}
	for _, t := range tasks {
		if t.UpdatedAt.After(last) {
			last = t.UpdatedAt
		}
	}
	if now.Sub(last) < e.opts.StallAfter {
		return false, nil
	}
	reason := fmt.Sprintf("no progress since %s (%s): ended by the scheduler", last.Format(time.RFC3339), e.opts.StallAfter)
	e.log.WarnContext(ctx, "run stalled", "environment", r.Environment, "run", r.ID, "status", r.Status, "lastProgress", last)
	if r.Status == runstate.RunPending || len(tasks) == 0 {
		return true, e.failRun(ctx, r.Environment, r.ID, reason)
	}
	for i, t := range tasks {
		if runstate.TaskTerminal(t.Status) {
			continue
		}
		x, err := e.state.ModifyTask(ctx, t.Run, t.Table, func(x *runstate.Task) (bool, error) {
			if runstate.TaskTerminal(x.Status) {
				return false, nil
			}
			x.Status, x.Reason = runstate.TaskFailed, reason
			return true, nil
		})
		if err != nil {
			return false, err
		}
		tasks[i] = x
	}
	// Every task has ended now: the run row learns it for all of them.
	if err := e.afterTable(ctx, r.Environment, r.ID, tasks...); err != nil {
		return false, err
	}
	return true, nil
}
