package dataversesim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Columns the server computes on every write, never taken from a request
// (their pages list IsValidForCreate and IsValidForUpdate False):
//
//   - money base columns: <money>_base = <money> / exchangerate, where
//     exchangerate is the rate of the record's transactioncurrencyid
//     against the base currency, copied to the record's own exchangerate
//     column at write (powerapps-docs, developer/data-platform/
//     transaction-currency-currency-entities.md; e.g. account.md lists
//     revenue_base and exchangerate as read-only);
//   - auto-number columns: a String column with an AutoNumberFormat gets a
//     value on create when none is given (powerapps-docs,
//     developer/data-platform/create-auto-number-attributes.md: {SEQNUM:n},
//     {RANDSTRING:n}, {DATETIMEUTC:format}). SEQNUM here is the
//     environment's row version, unique and increasing, where Dataverse
//     keeps a seed per column.
func (e *Env) deriveColumns(def *TableDef, r *Record) {
	rate, haveRate := 1.0, false
	if ref, ok := r.get(def, "transactioncurrencyid").(Ref); ok {
		if td := e.tables["transactioncurrency"]; td != nil {
			if cur := td.recs[ref.ID]; cur != nil {
				if x, ok := cur.get(td.def, "exchangerate").(float64); ok && x > 0 {
					rate, haveRate = x, true
				}
			}
		}
	}
	for _, a := range def.Attrs {
		if a.Type != TMoney || !strings.HasSuffix(a.Name, "_base") {
			continue
		}
		src := def.Attr(strings.TrimSuffix(a.Name, "_base"))
		if src == nil || src.Type != TMoney {
			continue
		}
		if haveRate && def.Attr("exchangerate") != nil {
			r.set(def, "exchangerate", rate)
		}
		if v, ok := r.get(def, src.Name).(float64); ok {
			r.Vals[a.idx] = v / rate
		} else {
			r.Vals[a.idx] = nil
		}
	}
}

// autoNumber fills the auto-number columns a create left empty.
func (e *Env) autoNumber(def *TableDef, r *Record, now time.Time) {
	for _, a := range def.Attrs {
		if a.AutoNumber == "" || r.Vals[a.idx] != nil {
			continue
		}
		r.Vals[a.idx] = e.formatAutoNumber(a.AutoNumber, now)
	}
}

const randAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func (e *Env) formatAutoNumber(format string, now time.Time) string {
	var b strings.Builder
	for format != "" {
		i := strings.IndexByte(format, '{')
		j := strings.IndexByte(format, '}')
		if i < 0 || j < i {
			b.WriteString(format)
			break
		}
		b.WriteString(format[:i])
		token, arg, _ := strings.Cut(format[i+1:j], ":")
		switch token {
		case "SEQNUM":
			n, _ := strconv.Atoi(arg)
			fmt.Fprintf(&b, "%0*d", n, e.version+1)
		case "RANDSTRING":
			n, _ := strconv.Atoi(arg)
			for range n {
				b.WriteByte(randAlphabet[e.rng.IntN(len(randAlphabet))])
			}
		case "DATETIMEUTC":
			b.WriteString(now.UTC().Format(dotnetDateLayout(arg)))
		default:
			b.WriteString(format[i : j+1])
		}
		format = format[j+1:]
	}
	return b.String()
}

// dotnetDateLayout turns the .NET custom format of {DATETIMEUTC:...} into a
// Go layout for the common specifiers.
func dotnetDateLayout(f string) string {
	return strings.NewReplacer("yyyy", "2006", "yy", "06", "MM", "01", "dd", "02", "HH", "15", "mm", "04", "ss", "05").Replace(f)
}
