package audit

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/google/uuid"

	"github.com/cloudbackup-d365/cloudbackup/shared/tablestore"
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

// TableLog is the Log in Table Storage (tablestore). PartitionKey is the
// UTC month (yyyy-MM, so one month is one partition); RowKey is the inverted
// timestamp plus a random suffix, so a partition lists newest first. The
// entry is the row's document; Action, Actor, Target and Outcome are columns
// too, for people reading the table.
type TableLog struct{ entries tablestore.Docs[Entry] }

// NewTableLog opens the audit table, creating it when missing.
func NewTableLog(ctx context.Context, svc *aztables.ServiceClient) (*TableLog, error) {
	t, err := tablestore.NewAzure(ctx, svc, Table)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return NewLog(t), nil
}

// NewLog returns the Log on a tablestore table (tablestore.NewMemory in
// tests).
func NewLog(t tablestore.Store) *TableLog {
	return &TableLog{entries: tablestore.Docs[Entry]{Store: t, Columns: func(e *Entry) map[string]string {
		return map[string]string{"Action": e.Action, "Actor": e.Actor, "Target": e.Target, "Outcome": e.Outcome}
	}}}
}

const monthLayout = "2006-01"

// Write implements Log.
func (l *TableLog) Write(ctx context.Context, e Entry) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	rk := fmt.Sprintf("%019d-%s", math.MaxInt64-e.Time.UnixNano(), uuid.NewString()[:8])
	if _, err := l.entries.Insert(ctx, e.Time.Format(monthLayout), rk, &e); err != nil {
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
		for it, err := range l.entries.List(ctx, month.Format(monthLayout), "") {
			if err != nil {
				return out, fmt.Errorf("audit: list: %w", err)
			}
			out = append(out, *it.Value)
			if len(out) == limit {
				break
			}
		}
		month = time.Date(month.Year(), month.Month()-1, 1, 0, 0, 0, 0, time.UTC)
	}
	return out, nil
}
