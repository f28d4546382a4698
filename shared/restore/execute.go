package restore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
	"github.com/cloudbackup-d365/cloudbackup/shared/retry"
)

var errLeased = errors.New("chunk leased by another invocation")

// chunkStep writes one chunk and sends the next message.
func (e *Engine) chunkStep(ctx context.Context, j *Job, m Message, delivery int) error {
	if m.Chunk != j.NextChunk || j.Status != StatusRunning {
		return nil // done already (duplicate), or not ours
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	lease := hex.EncodeToString(b[:])
	now := e.opts.Now()
	var wait time.Duration
	j, err := e.store.ModifyJob(ctx, j.ID, func(x *Job) (bool, error) {
		if x.NextChunk != m.Chunk || x.Status != StatusRunning {
			return false, errLeased
		}
		if x.LeaseID != "" && x.LeaseUntil.After(now) {
			wait = x.LeaseUntil.Sub(now)
			return false, errLeased
		}
		x.LeaseID, x.LeaseUntil = lease, now.Add(e.opts.LeaseDuration)
		return true, nil
	})
	if errors.Is(err, errLeased) {
		if wait > 0 { // someone holds it; look again when the lease ends
			m.Attempt++
			return e.send(ctx, m, wait+time.Second)
		}
		return nil
	}
	if err != nil {
		return err
	}
	release := func(mod func(x *Job)) error {
		_, err := e.store.ModifyJob(context.WithoutCancel(ctx), j.ID, func(x *Job) (bool, error) {
			if x.LeaseID != lease {
				return false, nil
			}
			x.LeaseID, x.LeaseUntil = "", time.Time{}
			if mod != nil {
				mod(x)
			}
			return true, nil
		})
		return err
	}
	var req Request
	if err := getJSON(ctx, e.blobs, requestBlob(j.ID), &req); err != nil {
		_ = release(nil)
		return err
	}
	var ops []plan.Op
	if err := getJSON(ctx, e.blobs, chunkBlob(j.ID, m.Chunk), &ops); err != nil {
		_ = release(nil)
		return err
	}
	rows := map[string]*Result{}
	if err := e.store.Results(ctx, j.ID, fmt.Sprintf("c%06d-", m.Chunk), func(r Result) error {
		rows[r.Key] = &r
		return nil
	}); err != nil {
		_ = release(nil)
		return err
	}
	x := &executor{e: e, job: j.ID, chunk: m.Chunk, rows: rows, size: max(j.BatchSize, 1), src: e.opts.SourceFor(req.Environment, req.Run),
		wo: &dataverse.WriteOptions{BypassBusinessLogic: req.Options.BypassBusinessLogic, SuppressFlows: req.Options.SuppressFlows}}
	for _, op := range ops {
		r := rows[op.Key]
		if r == nil {
			r = &Result{Key: op.Key, Kind: op.Kind, Table: op.Table, Source: op.Source, ID: op.ID, Status: ResPlanned}
			rows[op.Key] = r
		}
		if !finalStatus(r.Status) {
			x.queue = append(x.queue, op)
		}
	}
	clients, err := e.dir.Clients(ctx, req.Target)
	if err == nil && len(clients) == 0 {
		err = errors.New("no identity")
	}
	if err == nil {
		err = x.run(ctx, clients)
	}
	if err != nil {
		if delivery < e.opts.MaxDeliveries {
			_ = release(func(y *Job) { y.BatchSize = x.size; y.Throttled += x.throttled })
			return fmt.Errorf("restore %s chunk %d: %w", j.ID, m.Chunk, err)
		}
		// Poison: the unfinished operations fail with the reason, the job goes on.
		var fails []Result
		for _, op := range x.queue {
			r := *rows[op.Key]
			r.Status, r.Reason, r.Message = ResFailed, "gave up", fmt.Sprintf("chunk failed after %d deliveries: %v", delivery, err)
			fails = append(fails, r)
			if op.Message != nil && op.Message.CloseKey != "" {
				fails = append(fails, x.closeOutcome(op, &r))
			}
		}
		if err := e.store.PutResults(context.WithoutCancel(ctx), j.ID, fails); err != nil {
			return err
		}
	} else if x.deferFor > 0 {
		if err := release(func(y *Job) { y.BatchSize = x.size; y.Throttled += x.throttled }); err != nil {
			return err
		}
		m.Attempt++
		return e.send(ctx, m, x.deferFor)
	}
	next := m.Chunk + 1
	if err := release(func(y *Job) { y.NextChunk = next; y.BatchSize = x.size; y.Throttled += x.throttled }); err != nil {
		return err
	}
	if next > j.Chunks {
		return e.finish(ctx, j.ID, "")
	}
	return e.send(ctx, Message{Job: j.ID, Step: "chunk", Chunk: next}, 0)
}

// executor writes the operations of one chunk with one worker per identity.
type executor struct {
	e         *Engine
	job       string
	chunk     int
	wo        *dataverse.WriteOptions
	src       plan.Source
	mu        sync.Mutex
	rows      map[string]*Result
	queue     []plan.Op
	size      int
	throttled int
	deferFor  time.Duration
	err       error
}

func (x *executor) run(ctx context.Context, clients []*dataverse.Client) error {
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x.worker(ctx, c)
		}()
	}
	wg.Wait()
	if x.err != nil {
		return x.err
	}
	return ctx.Err()
}

// take removes the next batch from the queue: up to size operations of one
// kind (a file upload or a state message goes alone).
func (x *executor) take() []plan.Op {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.err != nil || x.deferFor > 0 || len(x.queue) == 0 {
		return nil
	}
	n := 1
	if !alone(x.queue[0]) {
		n = min(x.size, len(x.queue))
		for i := 1; i < n; i++ {
			if alone(x.queue[i]) {
				n = i
				break
			}
		}
		if x.e.opts.OneByOne {
			n = 1
		}
	}
	b := append([]plan.Op(nil), x.queue[:n]...)
	x.queue = x.queue[n:]
	return b
}

func (x *executor) putBack(ops []plan.Op) {
	x.queue = append(append([]plan.Op(nil), ops...), x.queue...)
}

func (x *executor) setErr(err error) {
	x.mu.Lock()
	if x.err == nil {
		x.err = err
	}
	x.mu.Unlock()
}

// writeRetry retries a batch whose whole call failed transiently (reset,
// 5xx, truncated answer, expired token): the operations are idempotent
// (creates carry If-None-Match: *). Throttles are not waited here
// (MaxAfter < 0): the worker halves the batch size and puts the operations
// back for the workers to share.
var writeRetry = retry.Policy{Attempts: 4, Base: 250 * time.Millisecond, Cap: 4 * time.Second, MaxAfter: -1, Decide: dataverse.Decide}

func (x *executor) worker(ctx context.Context, c *dataverse.Client) {
	for ctx.Err() == nil {
		ops := x.take()
		if len(ops) == 0 {
			return
		}
		// Mark pending: a crash from here on leaves the rows pending, and a
		// replay knows an earlier attempt may have gone through.
		x.mu.Lock()
		pend := make([]Result, 0, len(ops))
		wasPending := map[string]bool{}
		for _, op := range ops {
			r := x.rows[op.Key]
			wasPending[op.Key] = r.Status == ResPending
			r.Status = ResPending
			r.Attempts++
			pend = append(pend, *r)
		}
		x.mu.Unlock()
		if err := x.e.store.PutResults(ctx, x.job, pend); err != nil {
			x.mu.Lock()
			x.putBack(ops)
			x.mu.Unlock()
			x.setErr(err)
			return
		}
		var errs []error
		tries := 0
		_, err := retry.Do(ctx, writeRetry, func() error {
			if tries++; tries > 1 {
				// The failed try may have gone through before the failure.
				x.mu.Lock()
				for _, op := range ops {
					wasPending[op.Key] = true
					x.rows[op.Key].Attempts++
				}
				x.mu.Unlock()
			}
			var err error
			errs, err = x.send(ctx, c, ops)
			return err
		})
		if ra, ok := dataverse.IsThrottled(err); ok {
			x.mu.Lock()
			x.throttled++
			x.size = max(1, x.size/2)
			x.putBack(ops)
			long := ra > x.e.opts.MaxInlineWait
			if long && ra > x.deferFor {
				x.deferFor = ra
			}
			x.mu.Unlock()
			if long {
				return
			}
			if retry.Sleep(ctx, ra) != nil {
				return
			}
			continue
		}
		if err != nil {
			x.mu.Lock()
			x.putBack(ops)
			x.mu.Unlock()
			x.setErr(err)
			return
		}
		confirmReplays(ctx, c, ops, errs, wasPending)
		var final []Result
		var again []plan.Op
		x.mu.Lock()
		throttledPart := false
		for i, op := range ops {
			r := x.rows[op.Key]
			if _, ok := dataverse.IsThrottled(errs[i]); ok {
				throttledPart = true
				again = append(again, op)
				continue
			}
			if retry := x.outcome(op, r, errs[i], wasPending[op.Key]); retry != nil {
				again = append(again, *retry)
				continue
			}
			final = append(final, *r)
			if op.Message != nil && op.Message.CloseKey != "" {
				final = append(final, x.closeOutcome(op, r))
			}
		}
		if throttledPart {
			x.throttled++
			x.size = max(1, x.size/2)
		} else {
			x.size = min(x.size*2, x.e.opts.MaxBatch)
		}
		x.putBack(again)
		x.mu.Unlock()
		if h := x.e.opts.AfterBatch; h != nil {
			if err := h(x.job, x.chunk); err != nil {
				x.setErr(err) // a crash after Dataverse answered, before the results are stored
				return
			}
		}
		if err := x.e.store.PutResults(ctx, x.job, final); err != nil {
			x.setErr(err)
			return
		}
	}
}

// outcome records the result of an operation in r; it returns an operation
// to try again (a create whose inline lookups point at a missing record).
func (x *executor) outcome(op plan.Op, r *Result, err error, wasPending bool) *plan.Op {
	if errors.Is(err, errRelinkedBefore) {
		r.Status, r.Reason, r.Code, r.Message = ResDone, errRelinkedBefore.Error(), "", ""
		return nil
	}
	if errors.Is(err, errAlreadyInState) {
		r.Status, r.Code, r.Message = ResDone, "", ""
		if wasPending {
			r.Reason = "state set by an earlier attempt of this job"
		} else {
			r.Reason = "the record was in that state already"
		}
		return nil
	}
	if err == nil {
		switch {
		case op.Kind == plan.KindRecord && op.Action == plan.ActionCreate, op.Kind == plan.KindAssociation:
			r.Status = ResCreated
		case op.Kind == plan.KindRecord:
			r.Status = ResUpdated
		default:
			r.Status = ResDone
		}
		r.Code, r.Message = "", ""
		return nil
	}
	var re *dataverse.ResponseError
	errors.As(err, &re)
	code, msg, status := "", err.Error(), 0
	if re != nil {
		code, msg, status = re.Code, re.Message, re.StatusCode
	}
	duplicate := status == http.StatusPreconditionFailed && (code == "0x80040237" || strings.Contains(msg, "already exists")) ||
		strings.Contains(msg, "duplicate key")
	switch {
	case op.Kind == plan.KindRecord && op.Action == plan.ActionCreate && duplicate, op.Kind == plan.KindAssociation && duplicate:
		if wasPending {
			r.Status, r.Reason = ResCreated, "written by an earlier attempt of this job"
		} else {
			r.Status, r.Reason = ResSkipped, "created in the target after the job was planned"
		}
		return nil
	case op.Kind == plan.KindRecord && op.Action == plan.ActionUpdate && status == http.StatusPreconditionFailed,
		op.Kind == plan.KindRelink && status == http.StatusPreconditionFailed:
		r.Status, r.Reason = ResConflict, "changed in the target after the job was planned"
		return nil
	case op.Kind == plan.KindRecord && !op.Retry && (len(op.Inline) > 0 || hasRestoredParty(op)) && (code == dataverse.CodeObjectNotFound || strings.Contains(msg, "Does Not Exist")):
		retry := op
		for k, v := range op.Inline {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s %s not set: the record is missing (%s)", strings.TrimSuffix(k, "@odata.bind"), v, msg))
		}
		if _, dropped, err := plan.PartiesBody(op.Parties, false); err == nil {
			for _, d := range dropped {
				r.Warnings = append(r.Warnings, "party "+d+": the record is missing ("+msg+")")
			}
		}
		retry.Inline, retry.Retry = nil, true
		return &retry
	}
	r.Status, r.Code, r.Message = ResFailed, code, msg
	if r.Reason == "" {
		r.Reason = string(op.Kind) + " failed"
	}
	return nil
}

// closeOutcome is the result row of the close activity a state message
// created (or failed to), from the message's result r.
func (x *executor) closeOutcome(op plan.Op, r *Result) Result {
	m := op.Message
	c := Result{Key: m.CloseKey, Kind: plan.KindRecord, Table: m.CloseTable, Source: m.CloseID, ID: m.CloseID, Predict: plan.ActionCreate}
	if prev := x.rows[m.CloseKey]; prev != nil {
		c = *prev
	}
	c.Attempts = r.Attempts
	switch r.Status {
	case ResDone:
		c.Status, c.Reason, c.Code, c.Message = ResCreated, "by "+m.Name, "", ""
		if r.Reason != "" {
			c.Reason += " (" + r.Reason + ")"
		}
	default:
		c.Status, c.Reason, c.Code, c.Message = r.Status, m.Name+" failed", r.Code, r.Message
	}
	return c
}
