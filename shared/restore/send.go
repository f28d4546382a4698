package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// alone reports an operation sent on its own, outside $batch: a file
// upload (its own requests, block by block) or a state message (it reads
// the record's state first, so a replay does not close it twice).
func alone(op plan.Op) bool { return op.Kind == plan.KindFile || op.Message != nil }

// body is the body of a record operation with its inline lookups and its
// parties (a deep insert of the activity's activityparty rows).
func body(op plan.Op) ([]byte, error) {
	if len(op.Inline) == 0 && op.PartiesNav == "" {
		return op.Body, nil
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(op.Body, &m); err != nil {
		return nil, fmt.Errorf("operation %s: stored body: %w", op.Key, err)
	}
	for k, v := range op.Inline {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("operation %s: lookup %s: %w", op.Key, k, err)
		}
		m[k] = b
	}
	if op.PartiesNav != "" {
		// A retry after a restored record turned out missing leaves out
		// the parties on restored records too.
		parties, _, err := plan.PartiesBody(op.Parties, !op.Retry)
		if err != nil {
			return nil, fmt.Errorf("operation %s: parties: %w", op.Key, err)
		}
		m[op.PartiesNav] = parties
	}
	return json.Marshal(m)
}

// hasRestoredParty reports a party bound to a record this job restored.
func hasRestoredParty(op plan.Op) bool {
	return slices.ContainsFunc(op.Parties, func(p plan.PartyOp) bool { return p.Restored && p.Bind != "" })
}

// request is the HTTP request of an operation sent in $batch.
func request(c *dataverse.Client, op plan.Op) (dataverse.BatchRequest, error) {
	h := http.Header{}
	switch op.Kind {
	case plan.KindAssociation:
		b, err := json.Marshal(map[string]string{"@odata.id": c.APIURL(dataverse.EntityPath(op.Assoc.TargetSet, op.Assoc.TargetID))})
		if err != nil {
			return dataverse.BatchRequest{}, err
		}
		return dataverse.BatchRequest{Method: http.MethodPost, Path: dataverse.EntityPath(op.Set, op.ID) + "/" + op.Assoc.Nav + "/$ref", Header: h, Body: b}, nil
	case plan.KindRecord:
		if op.Action == plan.ActionCreate {
			h.Set("If-None-Match", "*")
		} else if op.IfMatch != "" {
			h.Set("If-Match", op.IfMatch)
		} else {
			h.Set("If-Match", "*")
		}
	case plan.KindRelink:
		// The survivor as read at planning: an edit since is a conflict.
		h.Set("If-Match", op.IfMatch)
		if op.IfMatch == "" {
			h.Set("If-Match", "*")
		}
	default:
		h.Set("If-Match", "*")
	}
	b, err := body(op)
	if err != nil {
		return dataverse.BatchRequest{}, err
	}
	return dataverse.BatchRequest{Method: http.MethodPatch, Path: dataverse.EntityPath(op.Set, op.ID), Header: h, Body: b}, nil
}

// send writes ops: one sent alone, one request per op (OneByOne), or one
// $batch with a change set per op. err is a failure of the whole call
// (429 included); errs[i] the outcome of ops[i].
func (x *executor) send(ctx context.Context, c *dataverse.Client, ops []plan.Op) ([]error, error) {
	errs := make([]error, len(ops))
	if len(ops) == 1 && alone(ops[0]) {
		if ops[0].Kind == plan.KindFile {
			errs[0] = x.upload(ctx, c, ops[0])
		} else {
			errs[0] = x.message(ctx, c, ops[0])
		}
		if _, ok := dataverse.IsThrottled(errs[0]); ok {
			return nil, errs[0]
		}
		return errs, nil
	}
	if x.e.opts.OneByOne {
		for i, op := range ops {
			r, err := request(c, op)
			if err != nil {
				errs[i] = err // a broken chunk blob: this operation fails
				continue
			}
			wo := *x.wo
			wo.IfMatch, wo.IfNoneMatch = r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
			if op.Kind == plan.KindAssociation {
				err = c.Associate(ctx, op.Set, op.ID, op.Assoc.Nav, op.Assoc.TargetSet, op.Assoc.TargetID, x.wo)
			} else {
				err = c.Upsert(ctx, op.Set, op.ID, json.RawMessage(r.Body), &wo)
			}
			if _, ok := dataverse.IsThrottled(err); ok {
				return nil, err
			}
			errs[i] = err
		}
		return errs, nil
	}
	// A broken chunk blob fails its operation; the others are sent.
	var sets []dataverse.ChangeSet
	var sent []int // index in ops of each change set
	for i, op := range ops {
		r, err := request(c, op)
		if err != nil {
			errs[i] = err
			continue
		}
		sets = append(sets, dataverse.ChangeSet{r})
		sent = append(sent, i)
	}
	if len(sets) == 0 {
		return errs, nil
	}
	res, err := c.ExecuteBatch(ctx, sets, &dataverse.BatchOptions{Write: x.wo})
	if err != nil {
		return nil, err
	}
	for k, i := range sent {
		errs[i] = res[k].Err
		if errors.Is(res[k].Err, dataverse.ErrBatchNotRun) {
			return nil, fmt.Errorf("$batch answer ended before change set %d: %w", k+1, dataverse.ErrBatchNotRun)
		}
	}
	return errs, nil
}

// upload writes a file or image column through the block upload messages,
// which keep the MIME type (a PATCH of the column does not; dataverse-
// reference 11). Chunks planned before FileOp carried the primary key
// upload with the PATCH.
func (x *executor) upload(ctx context.Context, c *dataverse.Client, op plan.Op) error {
	f := op.File
	rc, err := x.src.OpenFile(ctx, f.SHA256)
	if err != nil {
		return err
	}
	defer rc.Close()
	if f.PrimaryID == "" {
		return c.UploadFile(ctx, op.Set, op.ID, f.Column, f.FileName, f.MimeType, rc, f.Size, x.wo)
	}
	t := dataverse.FileTarget{Table: op.Table, PrimaryID: f.PrimaryID, ID: op.ID, Column: f.Column}
	return c.UploadFileBlocks(ctx, t, f.FileName, f.MimeType, rc, f.Size, x.wo)
}

// errAlreadyInState marks a message not sent because the record was in its
// state already (an earlier attempt of this job got through).
var errAlreadyInState = errors.New("the record is in that state already")

// message sets a record's state through its message: the record's state
// is read first, so a replay finds it done; a record not in a state the
// message accepts is PATCHed into one first (a draft quote is activated
// before WinQuote; a won opportunity reopened before LoseOpportunity).
func (x *executor) message(ctx context.Context, c *dataverse.Client, op plan.Op) error {
	m := op.Message
	raw, err := c.GetRecord(ctx, op.Set, op.ID, []string{"statecode", "statuscode"})
	if err != nil {
		return err
	}
	var cur struct {
		State  int `json:"statecode"`
		Status int `json:"statuscode"`
	}
	if err := json.Unmarshal(raw, &cur); err != nil {
		return fmt.Errorf("state of %s %s: %w", op.Table, op.ID, err)
	}
	if cur.State == m.State && cur.Status == m.Status {
		return errAlreadyInState
	}
	if len(m.From) > 0 && !slices.Contains(m.From, cur.State) {
		prep := map[string]int{"statecode": m.From[len(m.From)-1]}
		wo := *x.wo
		wo.IfMatch = "*"
		if _, err := c.Update(ctx, op.Set, op.ID, prep, &wo); err != nil {
			return fmt.Errorf("put %s %s in state %d before %s: %w", op.Table, op.ID, prep["statecode"], m.Name, err)
		}
	}
	path := m.Name
	if m.Bound {
		path = dataverse.EntityPath(op.Set, op.ID) + "/Microsoft.Dynamics.CRM." + m.Name
	}
	return c.Execute(ctx, path, m.Params, x.wo, nil)
}

// errRelinkedBefore marks a relink whose If-Match failed on a replay
// because the earlier attempt got through: the lookups point where the
// relink puts them.
var errRelinkedBefore = errors.New("relinked by an earlier attempt of this job")

// confirmReplays looks again at the operations of a replayed batch that
// failed where the earlier attempt may have got through: a relink that
// answered 412 (its ETag moved with the relink) whose lookups already
// point at the restored records, a state PATCH refused because the record
// is closed (a closed record is read-only) that is in the state already.
// Those are done; any other failure stands.
func confirmReplays(ctx context.Context, c *dataverse.Client, ops []plan.Op, errs []error, wasPending map[string]bool) {
	for i, op := range ops {
		if !wasPending[op.Key] || errs[i] == nil {
			continue
		}
		var want map[string]string
		switch {
		case op.Kind == plan.KindRelink && dataverse.HasStatus(errs[i], http.StatusPreconditionFailed):
			want = map[string]string{}
			for col, id := range op.Links {
				want["_"+col+"_value"] = id
			}
		case op.Kind == plan.KindState && op.Message == nil:
			var body map[string]json.RawMessage
			if json.Unmarshal(op.Body, &body) != nil {
				continue
			}
			want = map[string]string{}
			for k, v := range body {
				want[k] = string(v)
			}
		}
		if len(want) == 0 {
			continue
		}
		cols := make([]string, 0, len(want))
		for col := range want {
			cols = append(cols, col)
		}
		raw, err := c.GetRecord(ctx, op.Set, op.ID, cols)
		if err != nil {
			continue // the failure stands
		}
		var got map[string]json.RawMessage
		if json.Unmarshal(raw, &got) != nil {
			continue
		}
		done := true
		for col, w := range want {
			var s string
			if json.Unmarshal(got[col], &s) == nil {
				done = done && strings.EqualFold(strings.Trim(s, "{}"), w) // an id
			} else {
				done = done && string(got[col]) == w // a number
			}
		}
		if done && op.Kind == plan.KindRelink {
			errs[i] = errRelinkedBefore
		} else if done {
			errs[i] = errAlreadyInState
		}
	}
}
