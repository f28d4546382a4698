package runstate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/cloudbackup-d365/cloudbackup/shared/azerr"
	"github.com/cloudbackup-d365/cloudbackup/shared/storageaccount"
)

// Table names used by the app's run state. The infra tests compare them with
// the tables the Bicep templates create.
const (
	TableRuns  = "runs"
	TableTasks = "tabletasks"
)

// Tables lists the Table Storage tables this package uses.
func Tables() []string { return []string{TableRuns, TableTasks} }

// Errors.
var (
	// ErrNotFound: the run or task does not exist.
	ErrNotFound = errors.New("runstate: not found")
	// ErrConflict: the entity changed since it was read (ETag mismatch) or
	// already exists; re-read and decide again.
	ErrConflict = errors.New("runstate: concurrent update")
)

// ActiveError is returned by CreateRun when the environment has a run in progress.
type ActiveError struct{ RunID string }

func (e *ActiveError) Error() string {
	return "runstate: run " + e.RunID + " is in progress for this environment"
}

const lockRow = "~active"

// Store reads and writes runs and tasks.
type Store struct {
	runs, tasks *aztables.Client
	now         func() time.Time
}

// Open returns a Store on svc, creating the tables when missing.
func Open(ctx context.Context, svc *aztables.ServiceClient) (*Store, error) {
	return OpenWithClock(ctx, svc, time.Now)
}

// OpenWithClock is Open with the clock that stamps CreatedAt/UpdatedAt (tests).
func OpenWithClock(ctx context.Context, svc *aztables.ServiceClient, now func() time.Time) (*Store, error) {
	s := &Store{runs: svc.NewClient(TableRuns), tasks: svc.NewClient(TableTasks), now: now}
	if err := storageaccount.EnsureTables(ctx, svc, Tables()...); err != nil {
		return nil, fmt.Errorf("runstate: %w", err)
	}
	return s, nil
}

var (
	hasCode  = azerr.HasCode
	statusOf = azerr.Status
)

// translate maps SDK errors to the package's sentinels, in one place.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case hasCode(err, "ResourceNotFound", "TableNotFound") || statusOf(err) == 404:
		return ErrNotFound
	case hasCode(err, "UpdateConditionNotSatisfied", "EntityAlreadyExists") || statusOf(err) == 412 || statusOf(err) == 409:
		return ErrConflict
	}
	return err
}

// RunIDTimeLayout is the time prefix of run ids (UTC, microseconds), so
// run ids of an environment sort in creation order.
const RunIDTimeLayout = "20060102T150405.000000Z"

// NewRunID returns a new run id: the UTC time and 8 random hex digits.
func NewRunID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format(RunIDTimeLayout) + "-" + hex.EncodeToString(b[:])
}

const chunk = 30000 // characters per string property (64 KB UTF-16)

// entity is the stored shape.
func encodeEntity(pk, rk, status string, state any) ([]byte, error) {
	js, err := json.Marshal(state)
	if err != nil {
		return nil, err
	}
	m := map[string]any{"PartitionKey": pk, "RowKey": rk, "Status": status}
	s := string(js)
	n := 0
	for len(s) > 0 {
		k := min(chunk, len(s))
		m["D"+strconv.Itoa(n)] = s[:k]
		s = s[k:]
		n++
	}
	if n > 30 {
		return nil, fmt.Errorf("runstate: state of %s/%s is %d bytes, over the entity limit", pk, rk, len(js))
	}
	m["Chunks"] = n
	return json.Marshal(m)
}

func decodeEntity(raw []byte, state any) error {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	var b strings.Builder
	for i := 0; ; i++ {
		v, ok := m["D"+strconv.Itoa(i)].(string)
		if !ok {
			break
		}
		b.WriteString(v)
	}
	return json.Unmarshal([]byte(b.String()), state)
}

func (s *Store) get(ctx context.Context, c *aztables.Client, pk, rk string, state any) (azcore.ETag, error) {
	resp, err := c.GetEntity(ctx, pk, rk, nil)
	if err != nil {
		return "", translate(err)
	}
	if err := decodeEntity(resp.Value, state); err != nil {
		return "", fmt.Errorf("runstate: decode %s/%s: %w", pk, rk, err)
	}
	return resp.ETag, nil
}

func (s *Store) add(ctx context.Context, c *aztables.Client, pk, rk, status string, state any) (azcore.ETag, error) {
	b, err := encodeEntity(pk, rk, status, state)
	if err != nil {
		return "", err
	}
	resp, err := c.AddEntity(ctx, b, nil)
	if err != nil {
		return "", translate(err)
	}
	return resp.ETag, nil
}

func (s *Store) update(ctx context.Context, c *aztables.Client, pk, rk, status string, state any, etag azcore.ETag) (azcore.ETag, error) {
	b, err := encodeEntity(pk, rk, status, state)
	if err != nil {
		return "", err
	}
	opts := &aztables.UpdateEntityOptions{UpdateMode: aztables.UpdateModeReplace}
	if etag != "" {
		opts.IfMatch = &etag
	}
	resp, err := c.UpdateEntity(ctx, b, opts)
	if err != nil {
		return "", translate(err)
	}
	return resp.ETag, nil
}

func (s *Store) del(ctx context.Context, c *aztables.Client, pk, rk string, etag azcore.ETag) error {
	var opts *aztables.DeleteEntityOptions
	if etag != "" {
		opts = &aztables.DeleteEntityOptions{IfMatch: &etag}
	}
	_, err := c.DeleteEntity(ctx, pk, rk, opts)
	if err = translate(err); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// list returns the raw entities of a partition.
func (s *Store) list(ctx context.Context, c *aztables.Client, pk string, fn func(raw []byte, etag azcore.ETag) error) error {
	return s.listWhere(ctx, c, "PartitionKey eq '"+strings.ReplaceAll(pk, "'", "''")+"'", fn)
}

// listWhere returns the raw entities matching an OData filter.
func (s *Store) listWhere(ctx context.Context, c *aztables.Client, filter string, fn func(raw []byte, etag azcore.ETag) error) error {
	pager := c.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return translate(err)
		}
		for _, e := range page.Entities {
			var meta struct {
				ETag string `json:"odata.etag"`
			}
			_ = json.Unmarshal(e, &meta)
			if err := fn(e, azcore.ETag(meta.ETag)); err != nil {
				return err
			}
		}
	}
	return nil
}

func rowKeyOf(raw []byte) string {
	var k struct{ RowKey string }
	_ = json.Unmarshal(raw, &k)
	return k.RowKey
}
