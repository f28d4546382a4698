package plan

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Annotations of a lookup value in a backed-up or live record.
const (
	annLookupTable = "@Microsoft.Dynamics.CRM.lookuplogicalname"
	annNavigation  = "@Microsoft.Dynamics.CRM.associatednavigationproperty"
)

// backedUpRecord is a record as of the run.
type backedUpRecord struct {
	ID      string // lower case
	Version int64
	Fields  map[string]json.RawMessage
}

// lookupRef is a lookup value of a record: column attr points at record id
// of table (through navigation property nav, when the backup annotated it).
type lookupRef struct{ attr, table, id, nav string }

// lookupsOf returns the lookup columns of a record (keys "_<attr>_value"),
// sorted by column.
func lookupsOf(table, id string, f map[string]json.RawMessage) ([]lookupRef, error) {
	var out []lookupRef
	for k := range f {
		if !strings.HasPrefix(k, "_") || !strings.HasSuffix(k, "_value") {
			continue
		}
		lv := lookupRef{attr: k[1 : len(k)-len("_value")]}
		var err error
		if lv.id, err = stringField(f, k); err != nil {
			return nil, fmt.Errorf("record %s of %s: %w", id, table, err)
		}
		lv.id = lower(lv.id)
		if lv.table, err = stringField(f, k+annLookupTable); err != nil {
			return nil, fmt.Errorf("record %s of %s: %w", id, table, err)
		}
		if lv.nav, err = stringField(f, k+annNavigation); err != nil {
			return nil, fmt.Errorf("record %s of %s: %w", id, table, err)
		}
		out = append(out, lv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].attr < out[j].attr })
	return out, nil
}

// stringField returns the string value of key ("" when absent or null).
func stringField(f map[string]json.RawMessage, key string) (string, error) {
	v, ok := f[key]
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("column %s is not text (%.40s): %w", key, v, err)
	}
	return s, nil
}

// idField returns the id in key, lower case without braces.
func idField(f map[string]json.RawMessage, key string) (string, error) {
	s, err := stringField(f, key)
	return lower(s), err
}

func lower(s string) string { return strings.ToLower(strings.Trim(s, "{}")) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func orNull(v json.RawMessage) json.RawMessage {
	if len(v) == 0 {
		return json.RawMessage("null")
	}
	return v
}

// equalJSON compares two JSON values by meaning (key order, spacing); two
// values either of which is not JSON are equal only byte for byte.
func equalJSON(a, b json.RawMessage) bool {
	if string(a) == string(b) {
		return true
	}
	var x, y any
	if json.Unmarshal(orNull(a), &x) != nil || json.Unmarshal(orNull(b), &y) != nil {
		return false
	}
	xb, errx := json.Marshal(x)
	yb, erry := json.Marshal(y)
	return errx == nil && erry == nil && string(xb) == string(yb)
}
