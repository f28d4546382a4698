package dataversesim

import (
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Change tracking (reference 2). Every write takes a new environment-wide
// version; a delta returns rows whose version is above the token's, ordered
// by version, then $deletedEntity entries from the tombstones. The token is
// "<version>!<MM/dd/yyyy HH:mm:ss>"; its timestamp decides expiry.
//
// Paged deltas ([unverified], Options.SingleDeltaPage turns them off): a
// delta is cut into pages of odata.maxpagesize (default 5000) entries,
// changes first, then deletes, a page may hold both. Intermediate pages
// carry @odata.nextLink = the same link plus a $skiptoken holding the
// version read up to (upto, the environment version when the first page was
// served) and the position (last version sent); only the last page carries
// @odata.deltaLink. Every page reads only versions in (token, upto], and the
// new token is upto, the version at the START of the delta read: a row
// changed, created or deleted while the client pages gets a version above
// upto, so it is left out of this read and comes in the next delta, never
// lost. A row sent on an early page and changed later comes again in the
// next delta, which a delta client tolerates (upserts). The token at the
// END (the version at the last page) would lose every change made while
// paging, since the pages stop at upto; reading live versions instead of a
// bound would also lose nothing, but the bound keeps the pages of one read
// stable, as a snapshot, and costs only that late changes wait one delta.

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
	// upto is the version the delta reads up to: the environment version at
	// the first page, carried in the $skiptoken of the following pages.
	upto, pos, inDeletes := e.version, ver, false
	if st := q.Get("$skiptoken"); st != "" {
		u, ps, del, ok := parseDeltaSkip(st)
		if !ok || u < ver {
			writeDVError(w, errf(400, codeBadRequest, "Invalid $skiptoken."))
			return
		}
		upto, pos, inDeletes = u, ps, del
	}
	single := e.s.opts.SingleDeltaPage
	if single {
		upto, pos, inDeletes = e.version, ver, false
	}
	pageSize := p.maxPageSize
	if single {
		pageSize = int(^uint(0) >> 1)
	}
	// Rows changed in (ver, upto], in version order, after the position.
	var changed []*Record
	if !inDeletes {
		for _, id := range td.ids {
			if rec := td.recs[id]; rec.Version > pos && rec.Version <= upto {
				changed = append(changed, rec)
			}
		}
		sort.Slice(changed, func(i, j int) bool { return changed[i].Version < changed[j].Version })
	}
	// Deletes: one entry per id gone now, at its last tombstone in (ver, upto].
	lastTomb := map[string]int64{}
	for _, t := range td.tombs {
		if t.Version > ver && t.Version <= upto && td.recs[t.ID] == nil && t.Version > lastTomb[t.ID] {
			lastTomb[t.ID] = t.Version
		}
	}
	type del struct {
		id  string
		ver int64
	}
	var deleted []del
	for id, v := range lastTomb {
		if !inDeletes || v > pos {
			deleted = append(deleted, del{id, v})
		}
	}
	sort.Slice(deleted, func(i, j int) bool { return deleted[i].ver < deleted[j].ver })
	more := false
	if len(changed) >= pageSize {
		more = len(changed) > pageSize || len(deleted) > 0
		changed, deleted = changed[:pageSize], nil
	} else if n := pageSize - len(changed); len(deleted) > n {
		more, deleted = true, deleted[:n]
	}
	rc.records = len(changed) + len(deleted)
	b := make([]byte, 0, 256+len(changed)*700+len(deleted)*150)
	b = append(b, `{"@odata.context":`...)
	b = appendJSONString(b, rc.contextURL(def.SetName, cols, "/$delta"))
	if more {
		var skip string
		if len(deleted) > 0 {
			skip = deltaSkip(upto, deleted[len(deleted)-1].ver, true)
		} else {
			skip = deltaSkip(upto, changed[len(changed)-1].Version, false)
		}
		b = append(b, `,"@odata.nextLink":`...)
		b = appendJSONString(b, rc.linkWith(def.SetName, q, []string{"$skiptoken"}, "$skiptoken", skip))
	} else {
		b = append(b, `,"@odata.deltaLink":`...)
		b = appendJSONString(b, rc.linkWith(def.SetName, q, []string{"$deltatoken", "$skiptoken"}, "$deltatoken", escapeAll(e.deltaToken(upto), false)))
	}
	b = append(b, `,"value":[`...)
	for i, rec := range changed {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.appendRecord(b, td, rec, cols, p.ann, "")
	}
	delCtx := rc.base + "$metadata#" + def.SetName + "/$deletedEntity"
	for i, d := range deleted {
		if i > 0 || len(changed) > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"@odata.context":`...)
		b = appendJSONString(b, delCtx)
		b = append(b, `,"id":`...)
		b = appendJSONString(b, d.id)
		b = append(b, `,"reason":"deleted"}`...)
	}
	b = append(b, "]}"...)
	applied := "odata.track-changes"
	if p.maxPageApplied && !single {
		applied = "odata.maxpagesize=" + strconv.Itoa(p.maxPageSize) + "," + applied
	}
	w.Header().Set("Preference-Applied", applied)
	writeBody(w, 200, b)
}

// deltaSkip is the $skiptoken of an intermediate delta page: the version the
// delta reads up to, and the version of the last change (or, with deletes,
// the last tombstone) sent. Opaque to clients.
func deltaSkip(upto, pos int64, deletes bool) string {
	phase := "changes"
	if deletes {
		phase = "deletes"
	}
	c := `<deltacookie upto="` + strconv.FormatInt(upto, 10) + `" phase="` + phase + `" last="` + strconv.FormatInt(pos, 10) + `" />`
	return escapeAll(c, false)
}

var reDeltaSkip = regexp.MustCompile(`^<deltacookie upto="(\d+)" phase="(changes|deletes)" last="(\d+)" />$`)

func parseDeltaSkip(s string) (upto, pos int64, deletes, ok bool) {
	m := reDeltaSkip.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, false, false
	}
	upto, err1 := strconv.ParseInt(m[1], 10, 64)
	pos, err2 := strconv.ParseInt(m[3], 10, 64)
	if err1 != nil || err2 != nil || pos > upto {
		return 0, 0, false, false
	}
	return upto, pos, m[2] == "deletes", true
}
