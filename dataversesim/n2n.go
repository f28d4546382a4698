package dataversesim

import (
	"net/http"
	"strings"
	"time"
)

// N:N relationships (reference 5): associate with POST .../<nav>/$ref,
// disassociate with DELETE .../<nav>(<id>)/$ref or .../<nav>/$ref?$id=...,
// and GET .../<nav> lists the related rows (used for security roles).
// Intersect rows are real rows of the intersect table, so backup can read
// them and change tracking sees them.

func (e *Env) serveN2N(rc *reqCtx, w http.ResponseWriter, r *http.Request, td *tableData, id string, rel *N2N, segs []segment) {
	if td.recs[id] == nil {
		writeDVError(w, notFound(td.def, id))
		return
	}
	myAttr, otherAttr, other := rel.Entity1Attr, rel.Entity2Attr, rel.Entity2
	if td.def.LogicalName == rel.Entity2 {
		myAttr, otherAttr, other = rel.Entity2Attr, rel.Entity1Attr, rel.Entity1
	}
	otd := e.tables[other]
	it := e.tables[rel.IntersectEntity]
	isRef := len(segs) > 1 && segs[len(segs)-1].name == "$ref"
	find := func(otherID string) string {
		for _, iid := range it.ids {
			rec := it.recs[iid]
			if rec.get(it.def, myAttr) == id && rec.get(it.def, otherAttr) == otherID {
				return iid
			}
		}
		return ""
	}
	switch {
	case r.Method == http.MethodGet && !isRef:
		cols, derr := selectColumns(otd.def, r.URL.Query().Get("$select"))
		if derr != nil {
			writeDVError(w, derr)
			return
		}
		p := parsePrefs(r.Header)
		b := []byte(`{"@odata.context":`)
		b = appendJSONString(b, rc.contextURL(otd.def.SetName, cols, ""))
		b = append(b, `,"value":[`...)
		n := 0
		for _, iid := range it.ids {
			rec := it.recs[iid]
			if rec.get(it.def, myAttr) != id {
				continue
			}
			oid, _ := rec.get(it.def, otherAttr).(string)
			orec := otd.recs[oid]
			if orec == nil {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			b = e.appendRecord(b, otd, orec, cols, p.ann, "")
			n++
		}
		rc.records = n
		b = append(b, "]}"...)
		writeBody(w, 200, b)
	case r.Method == http.MethodPost && isRef:
		body, derr := readBody(r)
		if derr != nil {
			writeDVError(w, derr)
			return
		}
		ref, _ := body["@odata.id"].(string)
		ttd, oid, derr := e.parseBindTarget(ref)
		if derr != nil {
			writeDVError(w, derr)
			return
		}
		if ttd != otd {
			writeDVError(w, errf(400, codeBadRequest, "The relationship %s does not connect %s and %s.", rel.SchemaName, td.def.LogicalName, ttd.def.LogicalName))
			return
		}
		if otd.recs[oid] == nil {
			writeDVError(w, notFound(otd.def, oid))
			return
		}
		if find(oid) != "" {
			writeDVError(w, errf(400, codeDuplicate, "Cannot insert duplicate key. The association %s between %s and %s already exists.", rel.SchemaName, id, oid))
			return
		}
		rec := newRecord(it.def, newGUID(e.rng))
		rec.set(it.def, myAttr, id)
		rec.set(it.def, otherAttr, oid)
		e.stamp(it.def, rec, e.now().Truncate(time.Second), "")
		e.put(it, rec)
		rc.records++
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodDelete && isRef:
		oid := ""
		if len(segs) == 3 || segs[0].has {
			oid = strings.ToLower(strings.Trim(segs[0].key, "{}"))
		}
		if oid == "" {
			if _, x, derr := e.parseBindTarget(r.URL.Query().Get("$id")); derr == nil {
				oid = x
			}
		}
		if oid == "" {
			writeDVError(w, errf(400, codeBadRequest, "Disassociate needs the related row: .../%s(<id>)/$ref or $id.", rel.SchemaName))
			return
		}
		if iid := find(oid); iid != "" {
			e.remove(it, iid, true)
			rc.records++
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		writeDVError(w, errf(405, codeBadRequest, "The HTTP method '%s' is not allowed here.", r.Method))
	}
}
