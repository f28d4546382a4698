package plan

import (
	"sort"
	"strings"
)

// Columns a restore cannot write. Dataverse refuses some backed-up values
// on create or update: columns not valid for create or update (system
// columns such as modifiedon and createdby, a lookup's owning business
// unit, an exchange rate), calculated and rollup columns (SourceType 1 and
// 2, computed by the platform), base-currency amounts (<money>_base, from
// the record's currency rate), columns the target table lacks, and states
// only a message reaches that no message can reach from a backup (an
// email's Completed or Received). Nothing of these is dropped silently:
// every (table, column) with at least one non-null backed-up value the job
// does not write is listed with the reason and the number of records; a
// computed column (calculated, rollup, base currency) is listed whenever
// the backup has it, null or not, since Dataverse gives the restored
// record whatever it computes (a base amount where the backup had none). A
// column left out on purpose (outside scope.fields, the owner with
// options.owner off) is not listed, nor are the states set by the state
// phase, createdon (written as overriddencreatedon) and a file column's
// name and id (they come back with the file).

// notWritableValue records that the backed-up value v of column col of
// table is not written, for reason why.
func (p *planner) notWritableValue(table, col, why string, v []byte) {
	if len(v) == 0 || string(v) == "null" {
		return
	}
	p.notWritableCount(table, col, why)
}

// notWritableCount records a column of a record the job writes that it
// cannot write.
func (p *planner) notWritableCount(table, col, why string) {
	k := ckey(table, col)
	nw := p.notWritable[k]
	if nw == nil {
		nw = &NotWritable{Table: table, Column: col, Reason: why}
		p.notWritable[k] = nw
	} else if !strings.Contains(nw.Reason, why) {
		nw.Reason += "; " + why
	}
	nw.Records++
}

// notWritableList returns the columns not written, by table and column.
func (p *planner) notWritableList() []NotWritable {
	out := make([]NotWritable, 0, len(p.notWritable))
	for _, nw := range p.notWritable {
		out = append(out, *nw)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Table != out[j].Table {
			return out[i].Table < out[j].Table
		}
		return out[i].Column < out[j].Column
	})
	return out
}
