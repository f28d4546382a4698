package backupformat

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
)

// ExportFormat is the encoding of an exported table.
type ExportFormat string

// Export formats.
const (
	// ExportJSON is an array of the records as backed up (annotations
	// included), streamed.
	ExportJSON ExportFormat = "json"
	// ExportCSV has one column per backed-up column (annotations left out,
	// except LookupTableColumn), header first.
	ExportCSV ExportFormat = "csv"
)

// lookupTableAnnotation names the table a lookup value points at
// (polymorphic lookups such as customerid or regardingobjectid).
const lookupTableAnnotation = "@Microsoft.Dynamics.CRM.lookuplogicalname"

// LookupTableColumn is the CSV column that keeps the table of lookup
// column col ("_customerid_value" -> "_customerid_value@lookuplogicalname"):
// without it a polymorphic lookup's id could not be told apart. Present for
// every lookup the backup annotated.
func LookupTableColumn(col string) string { return col + "@lookuplogicalname" }

// Export streams the records of table as of run to w. CSV reads the table
// twice (once for the columns, once for the rows); JSON once.
func Export(ctx context.Context, b blobstore.Store, env, run, table string, format ExportFormat, w io.Writer) error {
	r := NewRunReader(b, env, run)
	switch format {
	case ExportJSON:
		return exportJSON(ctx, r, table, w)
	case ExportCSV:
		return exportCSV(ctx, r, table, w)
	}
	return fmt.Errorf("export format %q: want csv or json", format)
}

func exportJSON(ctx context.Context, r *RunReader, table string, w io.Writer) error {
	if _, err := io.WriteString(w, "["); err != nil {
		return err
	}
	sep := "\n"
	err := r.Records(ctx, table, func(rec Record) error {
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		sep = ",\n"
		_, err := w.Write(rec.Data)
		return err
	})
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n]\n")
	return err
}

// csvColumn is a CSV column: a record key, or the lookup table annotation
// of one.
type csvColumn struct {
	name string // header
	key  string // key in the record
}

func exportCSV(ctx context.Context, r *RunReader, table string, w io.Writer) error {
	seen := map[string]string{} // header -> record key
	if err := r.Records(ctx, table, func(rec Record) error {
		f, err := recordFields(table, rec)
		if err != nil {
			return err
		}
		for k := range f {
			if col, ok := strings.CutSuffix(k, lookupTableAnnotation); ok {
				seen[LookupTableColumn(col)] = k
			} else if !strings.Contains(k, "@") {
				seen[k] = k
			}
		}
		return nil
	}); err != nil {
		return err
	}
	cols := make([]csvColumn, 0, len(seen))
	for name, key := range seen {
		cols = append(cols, csvColumn{name: name, key: key})
	}
	// By name: a lookup's table column comes right after the lookup.
	sort.Slice(cols, func(i, j int) bool { return cols[i].name < cols[j].name })
	cw := csv.NewWriter(w)
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = c.name
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	row := make([]string, len(cols))
	err := r.Records(ctx, table, func(rec Record) error {
		f, err := recordFields(table, rec)
		if err != nil {
			return err
		}
		for i, c := range cols {
			row[i] = csvSafe(cell(f[c.key]))
		}
		return cw.Write(row)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func recordFields(table string, rec Record) (map[string]json.RawMessage, error) {
	var f map[string]json.RawMessage
	if err := json.Unmarshal(rec.Data, &f); err != nil {
		return nil, fmt.Errorf("record %s of %s is not a JSON object: %w", rec.ID, table, err)
	}
	return f, nil
}

// cell renders a JSON value as CSV text: strings unquoted, null empty,
// anything else as JSON.
func cell(v json.RawMessage) string {
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	if v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	return string(v)
}

// csvSafe defuses spreadsheet formulas in free text (CSV injection).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}
