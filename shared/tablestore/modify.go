package tablestore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// RetryOptions tune how Modify waits after a conflict. Zero values take the
// defaults documented on each field.
type RetryOptions struct {
	// MaxAttempts bounds the read-modify-write rounds (default 64: many
	// writers of one row, such as the tasks of a run finishing together,
	// get through; a livelock still ends).
	MaxAttempts int
	// BaseDelay is the wait after the first conflict (default 5 ms); it
	// doubles each round up to MaxDelay (default 500 ms). Each wait is
	// drawn between half and all of that (jitter), so writers that
	// collided do not collide again in step.
	BaseDelay, MaxDelay time.Duration
}

func (o RetryOptions) withDefaults() RetryOptions {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 64
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = 5 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 500 * time.Millisecond
	}
	return o
}

// delay is the wait before attempt+1 (attempt counts from 0).
func (o RetryOptions) delay(attempt int) time.Duration {
	d := o.MaxDelay
	if attempt < 30 && o.BaseDelay<<attempt < o.MaxDelay {
		d = o.BaseDelay << attempt
	}
	return d/2 + rand.N(d/2+1)
}

// Modify reads the entity at (pk, rk), lets fn change it, and replaces it
// conditional on the ETag read. When another writer got there first
// (ErrConflict) it waits (RetryOptions; nil = defaults) and starts again
// from a fresh read, so fn must be safe to run more than once and must
// decide from the entity it is given. fn returning false writes nothing
// and Modify returns the entity as read; an error from fn is returned as it
// is. A missing entity is ErrNotFound. Cancelling ctx ends the waits.
func Modify(ctx context.Context, s Store, pk, rk string, fn func(*Entity) (bool, error), o *RetryOptions) (Entity, error) {
	var opts RetryOptions
	if o != nil {
		opts = *o
	}
	opts = opts.withDefaults()
	for attempt := 0; ; attempt++ {
		e, err := s.Get(ctx, pk, rk)
		if err != nil {
			return Entity{}, err
		}
		read := e.ETag
		write, err := fn(&e)
		if err != nil || !write {
			e.ETag = read
			return e, err
		}
		e.PartitionKey, e.RowKey = pk, rk
		etag, err := s.Replace(ctx, e, read)
		if err == nil {
			e.ETag = etag
			return e, nil
		}
		if !errors.Is(err, ErrConflict) {
			return Entity{}, err
		}
		if attempt+1 >= opts.MaxAttempts {
			return Entity{}, fmt.Errorf("modify %s/%s: gave up after %d attempts: %w", pk, rk, opts.MaxAttempts, err)
		}
		t := time.NewTimer(opts.delay(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return Entity{}, ctx.Err()
		case <-t.C:
		}
	}
}
