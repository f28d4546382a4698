package dataversesim

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Change tracking (reference 2). Every write takes a new environment-wide
// version; a delta returns rows whose version is above the token's, ordered
// by version, then $deletedEntity entries from the tombstones. The token is
// "<version>!<MM/dd/yyyy HH:mm:ss>"; its timestamp decides expiry.

func (e *Env) deltaToken(ver int64) string {
	return strconv.FormatInt(ver, 10) + "!" + e.now().Format("01/02/2006 15:04:05")
}

func parseDeltaToken(s string) (int64, time.Time, bool) {
	v, ts, ok := strings.Cut(s, "!")
	if !ok {
		return 0, time.Time{}, false
	}
	ver, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, time.Time{}, false
	}
	t, err := time.Parse("01/02/2006 15:04:05", ts)
	if err != nil {
		return 0, time.Time{}, false
	}
	return ver, t, true
}

func (e *Env) delta(rc *reqCtx, w http.ResponseWriter, td *tableData, q url.Values, p prefs) {
	def := td.def
	if !def.ChangeTracking {
		writeDVError(w, errf(400, "0x80044353", "Change tracking is not enabled for the entity %s.", def.LogicalName))
		return
	}
	for _, bad := range []string{"$filter", "$orderby", "$expand", "$top"} {
		if q.Has(bad) {
			writeDVError(w, errf(400, codeBadRequest, `The "%s" query parameter isn't supported when Change Tracking is enabled.`, bad))
			return
		}
	}
	ver, issued, ok := parseDeltaToken(q.Get("$deltatoken"))
	if !ok {
		writeDVError(w, errf(400, codeBadRequest, "Invalid $deltatoken."))
		return
	}
	if e.now().Sub(issued) > e.ctExpiry() {
		writeDVError(w, errf(e.s.opts.ExpiredTokenStatus, codeExpiredToken, "Version stamp associated with the client has expired. Please perform a full sync."))
		return
	}
	cols, derr := selectColumns(def, q.Get("$select"))
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	var changed []*Record
	for _, id := range td.ids {
		if rec := td.recs[id]; rec.Version > ver {
			changed = append(changed, rec)
		}
	}
	sort.Slice(changed, func(i, j int) bool { return changed[i].Version < changed[j].Version })
	var deleted []string
	seen := map[string]bool{}
	for _, t := range td.tombs {
		if t.Version > ver && td.recs[t.ID] == nil && !seen[t.ID] {
			seen[t.ID] = true
			deleted = append(deleted, t.ID)
		}
	}
	rc.records = len(changed) + len(deleted)
	b := make([]byte, 0, 256+len(changed)*700+len(deleted)*150)
	b = append(b, `{"@odata.context":`...)
	b = appendJSONString(b, rc.contextURL(def.SetName, cols, "/$delta"))
	b = append(b, `,"@odata.deltaLink":`...)
	b = appendJSONString(b, rc.linkWith(def.SetName, q, []string{"$deltatoken", "$skiptoken"}, "$deltatoken", escapeAll(e.deltaToken(e.version), false)))
	b = append(b, `,"value":[`...)
	for i, rec := range changed {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.appendRecord(b, td, rec, cols, p.ann, "")
	}
	delCtx := rc.base + "$metadata#" + def.SetName + "/$deletedEntity"
	for i, id := range deleted {
		if i > 0 || len(changed) > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"@odata.context":`...)
		b = appendJSONString(b, delCtx)
		b = append(b, `,"id":`...)
		b = appendJSONString(b, id)
		b = append(b, `,"reason":"deleted"}`...)
	}
	b = append(b, "]}"...)
	w.Header().Set("Preference-Applied", "odata.track-changes")
	writeBody(w, 200, b)
}
