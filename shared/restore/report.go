package restore

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// RecordResult is one line of a job's report: a record (with the outcome of
// its later steps folded in), an N:N association, or a relink of a
// surviving record (Diff: the lookups re-pointed).
type RecordResult struct {
	Kind   plan.Kind `json:"kind"` // record or association
	Table  string    `json:"table"`
	Source string    `json:"sourceId"`
	ID     string    `json:"targetId"`
	// Action is what the plan decided (create, update, skip, conflict,
	// associate, fail); for a dry run the prediction.
	Action   plan.Action      `json:"action"`
	Status   string           `json:"status"`
	Reason   string           `json:"reason,omitempty"`
	Code     string           `json:"code,omitempty"`
	Message  string           `json:"message,omitempty"`
	Warnings []string         `json:"warnings,omitempty"`
	Diff     []plan.FieldDiff `json:"diff,omitempty"`
	Files    int              `json:"files,omitempty"`
	// Steps lists the later operations and their status (patch, file, state).
	Steps []string `json:"steps,omitempty"`
	// Cascade: the Cascade relationship a created record came back
	// through with its restored parent.
	Cascade string `json:"cascade,omitempty"`
}

// Report aggregates a job's result rows into one line per record and association.
func (e *Engine) Report(ctx context.Context, id string) ([]RecordResult, error) {
	byRec := map[string]*RecordResult{}
	var assoc []RecordResult
	var later []Result
	err := e.store.Results(ctx, id, "", func(r Result) error {
		switch r.Kind {
		case plan.KindAssociation, plan.KindRelink:
			assoc = append(assoc, RecordResult{Kind: r.Kind, Table: r.Table, Source: r.Source, ID: r.ID, Action: r.Predict,
				Status: r.Status, Reason: r.Reason, Code: r.Code, Message: r.Message, Diff: r.Diff})
		case plan.KindRecord:
			k := r.Table + "|" + r.Source
			byRec[k] = &RecordResult{Kind: plan.KindRecord, Table: r.Table, Source: r.Source, ID: r.ID, Action: r.Predict, Status: r.Status,
				Reason: r.Reason, Code: r.Code, Message: r.Message, Warnings: r.Warnings, Diff: r.Diff, Cascade: r.Cascade}
		default:
			later = append(later, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, r := range later {
		rr := byRec[r.Table+"|"+r.Source]
		if rr == nil {
			continue
		}
		if r.Kind == plan.KindFile && (r.Status == ResDone || r.Status == ResPredicted) {
			rr.Files++
		}
		rr.Steps = append(rr.Steps, string(r.Kind)+":"+r.Status)
		if r.Status == ResFailed {
			rr.Status = ResFailed
			rr.Code, rr.Message = r.Code, string(r.Kind)+": "+r.Message
			if rr.Reason == "" {
				rr.Reason = r.Reason
			}
		} else if !finalStatus(r.Status) && finalStatus(rr.Status) && rr.Status != ResFailed {
			rr.Status = r.Status // still to do
		}
	}
	out := make([]RecordResult, 0, len(byRec)+len(assoc))
	keys := make([]string, 0, len(byRec))
	for k := range byRec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, *byRec[k])
	}
	sort.SliceStable(assoc, func(i, j int) bool {
		if assoc[i].Kind != assoc[j].Kind {
			return assoc[i].Kind < assoc[j].Kind
		}
		return assoc[i].Table+assoc[i].Source < assoc[j].Table+assoc[j].Source
	})
	return append(out, assoc...), nil
}

// ReportColumns are the columns of the CSV report.
var ReportColumns = []string{"kind", "table", "sourceId", "targetId", "action", "status", "reason", "code", "message", "warnings", "changedFields", "files", "steps"}

// WriteCSV writes the report as CSV (RFC 4180, header first).
func WriteCSV(w io.Writer, rs []RecordResult) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(ReportColumns); err != nil {
		return err
	}
	for _, r := range rs {
		var fields []string
		for _, d := range r.Diff {
			fields = append(fields, d.Field)
		}
		if err := cw.Write([]string{string(r.Kind), r.Table, r.Source, r.ID, string(r.Action), r.Status, r.Reason, r.Code, csvSafe(r.Message),
			csvSafe(strings.Join(r.Warnings, "; ")), strings.Join(fields, " "), strconv.Itoa(r.Files), strings.Join(r.Steps, " ")}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe defuses spreadsheet formulas in free text (CSV injection).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteJSON writes the job and its report as one JSON document.
func WriteJSON(w io.Writer, j *Job, rs []RecordResult) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Job     *Job           `json:"job"`
		Records []RecordResult `json:"records"`
	}{j, rs})
}
