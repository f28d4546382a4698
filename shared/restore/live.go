package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/retry"
)

// maxPlanWait bounds one Retry-After slept while planning (reads only).
const maxPlanWait = 30 * time.Second

// planRetry retries the reads of planning (they are idempotent): transient
// failures back off, throttles wait their Retry-After up to maxPlanWait (a
// longer one fails the step, which the host delivers again). An error of a
// ReadPage callback is the caller's own and is never retried.
var planRetry = retry.Policy{Attempts: 8, Base: 200 * time.Millisecond, Cap: 5 * time.Second, MaxAfter: maxPlanWait,
	Decide: func(err error) retry.Decision {
		var fe *dataverse.FuncError
		if errors.As(err, &fe) {
			return retry.Decision{}
		}
		return dataverse.Decide(err)
	}}

// planReads runs the reads of one planning step through planRetry and
// counts the throttles they met, for the job's Throttled.
type planReads struct{ throttled atomic.Int64 }

func (r *planReads) retry(ctx context.Context, fn func() error) error {
	st, err := retry.Do(ctx, planRetry, fn)
	r.throttled.Add(int64(st.Throttled))
	var fe *dataverse.FuncError
	if errors.As(err, &fe) {
		return fe.Err
	}
	return err
}

// readPages reads every page of a collection query (built with
// dataverse.CollectionQuery), each page with retries, and calls fn with
// each record.
func readPages(ctx context.Context, r *planReads, c *dataverse.Client, link string, fn func(rec map[string]json.RawMessage) error) error {
	for link != "" {
		var recs []json.RawMessage
		var pg dataverse.Page
		err := r.retry(ctx, func() error {
			recs = recs[:0]
			var err error
			pg, err = c.ReadPage(ctx, link, nil, func(e dataverse.Entity) error {
				recs = append(recs, e.Raw)
				return nil
			})
			return err
		})
		if err != nil {
			return err
		}
		for _, raw := range recs {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				return fmt.Errorf("a record is not a JSON object: %w", err)
			}
			if err := fn(m); err != nil {
				return err
			}
		}
		link = pg.NextLink
	}
	return nil
}
