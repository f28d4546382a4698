package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
)

// maxPlanWait bounds one Retry-After slept while planning (reads only).
const maxPlanWait = 30 * time.Second

type throttleKey struct{}

// withThrottleCount makes retry count the 429s it waits out into n.
func withThrottleCount(ctx context.Context, n *atomic.Int64) context.Context {
	return context.WithValue(ctx, throttleKey{}, n)
}

// retry runs fn, sleeping a 429's Retry-After (bounded) and retrying
// transient failures a few times; planning reads are idempotent.
func retry(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		if err = fn(); err == nil {
			return nil
		}
		var fe *dataverse.FuncError
		if errors.As(err, &fe) {
			return fe.Err
		}
		wait := time.Duration(attempt+1) * 200 * time.Millisecond
		if ra, ok := dataverse.IsThrottled(err); ok {
			wait = min(ra, maxPlanWait)
			if n, ok := ctx.Value(throttleKey{}).(*atomic.Int64); ok {
				n.Add(1)
			}
		} else if !dataverse.IsTransient(err) || dataverse.HasStatus(err, 400, 401, 403, 404, 412) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	return err
}

// readPages reads every page of a collection query (built with
// dataverse.CollectionQuery), each page with retries, and calls fn with
// each record.
func readPages(ctx context.Context, c *dataverse.Client, link string, fn func(rec map[string]json.RawMessage) error) error {
	for link != "" {
		var recs []json.RawMessage
		var pg dataverse.Page
		err := retry(ctx, func() error {
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
