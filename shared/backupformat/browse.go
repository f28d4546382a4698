package backupformat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
)

// NameColumns are the usual primary name columns Browse matches a prefix
// against when the query names none.
var NameColumns = []string{"name", "fullname", "subject", "title", "lastname", "domainname"}

// BrowseQuery selects records of a table as of a run.
type BrowseQuery struct {
	// ID keeps only the record with this id (case-insensitive).
	ID string
	// Prefix keeps records one of whose NameColumns starts with it
	// (case-insensitive).
	Prefix string
	// NameColumns to match Prefix against (default: NameColumns).
	NameColumns []string
	// Limit is the most records returned (default 50).
	Limit int
}

var errEnough = errors.New("backupformat: enough records")

// Browse returns the records of table as of run that match q, in the
// state's order, and whether more would have matched than q.Limit.
// ErrTableNotInRun when the run holds no state of the table.
func Browse(ctx context.Context, b blobstore.Store, env, run, table string, q BrowseQuery) (recs []json.RawMessage, truncated bool, err error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	cols := q.NameColumns
	if len(cols) == 0 {
		cols = NameColumns
	}
	id, prefix := strings.ToLower(q.ID), strings.ToLower(q.Prefix)
	recs = []json.RawMessage{}
	err = TableState(ctx, b, env, run, table, func(rec Record) error {
		if id != "" && strings.ToLower(rec.ID) != id {
			return nil
		}
		if prefix != "" {
			ok, err := namePrefixed(rec.Data, cols, prefix)
			if err != nil {
				return fmt.Errorf("record %s of %s: %w", rec.ID, table, err)
			}
			if !ok {
				return nil
			}
		}
		if len(recs) == limit {
			return errEnough
		}
		recs = append(recs, rec.Data)
		return nil
	})
	if errors.Is(err, errEnough) {
		return recs, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	return recs, false, nil
}

// namePrefixed reports whether one of cols of the record is a string that
// starts with prefix (lower case), ignoring case.
func namePrefixed(data json.RawMessage, cols []string, prefix string) (bool, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return false, fmt.Errorf("not a JSON object: %w", err)
	}
	for _, c := range cols {
		v := m[c]
		if len(v) == 0 || v[0] != '"' {
			continue // absent, null or not text
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return false, fmt.Errorf("column %s: %w", c, err)
		}
		if strings.HasPrefix(strings.ToLower(s), prefix) {
			return true, nil
		}
	}
	return false, nil
}

// FindRecord returns the record id of table as of run; found is false when
// the table's state has no such record. ErrTableNotInRun when the run holds
// no state of the table.
func FindRecord(ctx context.Context, b blobstore.Store, env, run, table, id string) (data json.RawMessage, found bool, err error) {
	id = strings.ToLower(id)
	err = TableState(ctx, b, env, run, table, func(rec Record) error {
		if strings.ToLower(rec.ID) == id {
			data = rec.Data
			return errEnough
		}
		return nil
	})
	if errors.Is(err, errEnough) {
		return data, true, nil
	}
	return nil, false, err
}
