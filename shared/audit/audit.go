// Package audit records every change made through the admin API and every
// restore in the "audit" table: who, what, when, from where, and the outcome.
// Entries are append-only; the row key orders them newest first.
//
// An entry never holds secret material: callers pass identifiers and
// summaries, not request bodies.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/cloudbackup-d365/cloudbackup/shared/storageaccount"
	"github.com/google/uuid"
)

// Table is the audit table's name.
const Table = "audit"

// Entry is one audited action.
type Entry struct {
	Time time.Time `json:"time"`
	// Actor is the caller: the Easy Auth principal's name (or id), or
	// "local-admin" when API_AUTHORIZATION=local-admin.
	Actor     string `json:"actor"`
	ActorID   string `json:"actorId,omitempty"`
	Roles     string `json:"roles,omitempty"`
	Action    string `json:"action"`  // e.g. connection.create
	Target    string `json:"target"`  // e.g. connections/<id>
	Outcome   string `json:"outcome"` // ok | refused | failed
	Detail    string `json:"detail,omitempty"`
	RemoteIP  string `json:"remoteIp,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

// Log writes entries.
type Log interface {
	Write(ctx context.Context, e Entry) error
	// List returns up to limit entries, newest first.
	List(ctx context.Context, limit int) ([]Entry, error)
}

// TableLog is the Log in Table Storage. PartitionKey is the UTC month
// (yyyy-MM, so one month is one partition); RowKey is the inverted
// timestamp plus a random suffix, so a partition lists newest first.
type TableLog struct{ tc *aztables.Client }

// NewTableLog opens the audit table, creating it when missing.
func NewTableLog(ctx context.Context, svc *aztables.ServiceClient) (*TableLog, error) {
	if err := storageaccount.EnsureTables(ctx, svc, Table); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return &TableLog{tc: svc.NewClient(Table)}, nil
}

// Write implements Log.
func (l *TableLog) Write(ctx context.Context, e Entry) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	data, _ := json.Marshal(e)
	ent := map[string]any{
		"PartitionKey": e.Time.Format("2006-01"),
		"RowKey":       fmt.Sprintf("%019d-%s", math.MaxInt64-e.Time.UnixNano(), uuid.NewString()[:8]),
		"Action":       e.Action, "Actor": e.Actor, "Target": e.Target, "Outcome": e.Outcome, "Data": string(data),
	}
	raw, _ := json.Marshal(ent)
	if _, err := l.tc.AddEntity(ctx, raw, nil); err != nil {
		return fmt.Errorf("audit: write %s: %w", e.Action, err)
	}
	return nil
}

// List implements Log (this month and the previous eleven).
func (l *TableLog) List(ctx context.Context, limit int) ([]Entry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var out []Entry
	month := time.Now().UTC()
	for i := 0; i < 12 && len(out) < limit; i++ {
		f := "PartitionKey eq '" + month.Format("2006-01") + "'"
		pager := l.tc.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &f})
		for pager.More() && len(out) < limit {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return out, fmt.Errorf("audit: list: %w", err)
			}
			for _, raw := range page.Entities {
				var ent struct{ Data string }
				if json.Unmarshal(raw, &ent) != nil {
					continue
				}
				var e Entry
				if json.Unmarshal([]byte(ent.Data), &e) == nil && len(out) < limit {
					out = append(out, e)
				}
			}
		}
		month = time.Date(month.Year(), month.Month()-1, 1, 0, 0, 0, 0, time.UTC)
	}
	return out, nil
}

// Memory is a Log in memory (tests).
type Memory struct {
	mu      sync.Mutex
	entries []Entry
}

// Write implements Log.
func (m *Memory) Write(_ context.Context, e Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	m.entries = append(m.entries, e)
	return nil
}

// List implements Log.
func (m *Memory) List(_ context.Context, limit int) ([]Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Entry
	for i := len(m.entries) - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		out = append(out, m.entries[i])
	}
	return out, nil
}
