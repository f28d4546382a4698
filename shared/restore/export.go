package restore

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
)

// Export streams the records of table as of the source's run to w, as
// "csv" (one column per backed-up column, annotations left out; read twice:
// once for the columns, once for the rows) or "json" (an array of the
// records as backed up, streamed).
func Export(ctx context.Context, src Source, table, format string, w io.Writer) error {
	switch format {
	case "json":
		if _, err := io.WriteString(w, "["); err != nil {
			return err
		}
		first := true
		err := src.Records(ctx, table, func(r backupformat.Record) error {
			sep := ",\n"
			if first {
				sep, first = "\n", false
			}
			if _, err := io.WriteString(w, sep); err != nil {
				return err
			}
			_, err := w.Write(r.Data)
			return err
		})
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, "\n]\n")
		return err
	case "csv":
		cols := map[string]bool{}
		if err := src.Records(ctx, table, func(r backupformat.Record) error {
			var f map[string]json.RawMessage
			if err := json.Unmarshal(r.Data, &f); err != nil {
				return err
			}
			for k := range f {
				if !strings.Contains(k, "@") {
					cols[k] = true
				}
			}
			return nil
		}); err != nil {
			return err
		}
		names := make([]string, 0, len(cols))
		for k := range cols {
			names = append(names, k)
		}
		sort.Strings(names)
		cw := csv.NewWriter(w)
		if err := cw.Write(names); err != nil {
			return err
		}
		row := make([]string, len(names))
		err := src.Records(ctx, table, func(r backupformat.Record) error {
			var f map[string]json.RawMessage
			if err := json.Unmarshal(r.Data, &f); err != nil {
				return err
			}
			for i, k := range names {
				row[i] = csvSafe(cell(f[k]))
			}
			return cw.Write(row)
		})
		if err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	}
	return fmt.Errorf("export format %q: want csv or json", format)
}

func cell(v json.RawMessage) string {
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}
