package devhost

import (
	"context"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/ncrontab"
)

func (h *Host) startTimer(ctx context.Context, f Function, trig Binding) error {
	expr, err := resolve(trig.Schedule, h.lookup)
	if err != nil {
		return err
	}
	sched, err := ncrontab.Parse(expr)
	if err != nil {
		return err
	}
	log := h.log.With("function", f.Name, "schedule", expr)
	if trig.RunOnStart {
		go h.fireTimer(ctx, f, trig, time.Time{}, sched.Next(time.Now()))
	}
	if h.opts.DisableTimers {
		return nil
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		var last time.Time
		for {
			next := sched.Next(time.Now())
			if next.IsZero() {
				log.Warn("schedule never fires")
				return
			}
			log.Debug("timer scheduled", "next", next)
			sleep(ctx, time.Until(next))
			if ctx.Err() != nil {
				return
			}
			h.fireTimer(ctx, f, trig, last, sched.Next(next))
			last = next
		}
	}()
	return nil
}

// fireTimer invokes a timer function once. The host does not retry failed
// timer invocations; neither does the dev host.
func (h *Host) fireTimer(ctx context.Context, f Function, trig Binding, last, next time.Time) error {
	payload, err := TimerInvocation(f.Name, trig.Name, last, next, false)
	if err != nil {
		return err
	}
	if err := h.invoke(ctx, f.Name, payload); err != nil {
		h.log.Warn("timer invocation failed", "function", f.Name, "error", err.Error())
		return err
	}
	return nil
}
