package backup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// ScheduleResult says what a scheduler pass did.
type ScheduleResult struct {
	Started []string `json:"started"` // run ids
	Skipped []string `json:"skipped"` // "env: reason"
}

// Schedule creates a run for every enabled environment that is due and has
// no run in progress (never two runs of one environment at once). A run
// that made no progress for Options.StaleAfter is failed first, so a lost
// message cannot block an environment forever.
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
			if now.Sub(r.CreatedAt) > e.opts.StaleAfter {
				if err := e.failRun(ctx, env.ID, r.ID, fmt.Sprintf("no progress for %s: abandoned by the scheduler", e.opts.StaleAfter)); err != nil {
					return false, "", err
				}
				continue
			}
			return false, "run " + r.ID + " in progress", nil
		}
		last = r
	}
	if last != nil && env.Policy.MinInterval > 0 && now.Sub(last.CreatedAt) < env.Policy.MinInterval {
		return false, "last run " + last.ID + " is recent", nil
	}
	return true, "", nil
}
