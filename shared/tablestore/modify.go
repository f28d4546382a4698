package tablestore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/retry"
)

// RetryOptions tune how Modify waits after a conflict. Zero values take the
// defaults documented on each field. The waits are shared/retry's backoff.
type RetryOptions struct {
	// MaxAttempts bounds the read-modify-write rounds (default 64: many
	// writers of one row, such as the tasks of a run finishing together,
	// get through; a livelock still ends).
	MaxAttempts int
	// BaseDelay is the backoff ceiling after the first conflict (default
	// 5 ms); it doubles each round up to MaxDelay (default 500 ms). Each
	// wait is drawn below the ceiling (retry's full jitter), so writers
	// that collided do not collide again in step.
	BaseDelay, MaxDelay time.Duration
}

func (o RetryOptions) policy() retry.Policy {
	p := retry.Policy{Attempts: o.MaxAttempts, Base: o.BaseDelay, Cap: o.MaxDelay}
	if p.Attempts <= 0 {
		p.Attempts = 64
	}
	if p.Base <= 0 {
		p.Base = 5 * time.Millisecond
	}
	if p.Cap <= 0 {
		p.Cap = 500 * time.Millisecond
	}
	return p
}

// Modify reads the entity at (pk, rk), lets fn change it, and replaces it
// conditional on the ETag read. When another writer got there first
// (ErrConflict) it waits (RetryOptions; nil = defaults) and starts again
// from a fresh read, so fn must be safe to run more than once and must
// decide from the entity it is given. fn returning false writes nothing
// and Modify returns the entity as read; an error from fn is returned as it
// is. A missing entity is ErrNotFound. Cancelling ctx ends the waits (the
// error then wraps ctx.Err()).
func Modify(ctx context.Context, s Store, pk, rk string, fn func(*Entity) (bool, error), o *RetryOptions) (Entity, error) {
	var opts RetryOptions
	if o != nil {
		opts = *o
	}
	p := opts.policy()
	// Only a lost race on the write is retried: fn's own errors and the
	// store's other failures end Modify as they are.
	conflict := false
	p.Decide = func(error) retry.Decision { return retry.Decision{Retry: conflict} }
	var out Entity
	st, err := retry.Do(ctx, p, func() error {
		conflict = false
		e, err := s.Get(ctx, pk, rk)
		if err != nil {
			return err
		}
		read := e.ETag
		write, err := fn(&e)
		if err != nil || !write {
			e.ETag = read
			out = e
			return err
		}
		e.PartitionKey, e.RowKey = pk, rk
		etag, err := s.Replace(ctx, e, read)
		if err != nil {
			conflict = errors.Is(err, ErrConflict)
			return err
		}
		e.ETag = etag
		out = e
		return nil
	})
	switch {
	case err == nil:
		return out, nil
	case conflict && st.Attempts >= p.Attempts:
		return Entity{}, fmt.Errorf("modify %s/%s: gave up after %d attempts: %w", pk, rk, st.Attempts, err)
	case conflict || ctx.Err() != nil:
		return Entity{}, err
	}
	return out, err // fn's error, with the entity as read
}
