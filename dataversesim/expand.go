package dataversesim

import (
	"sort"
	"strconv"
	"strings"
)

// $expand on table data (powerapps-docs, developer/data-platform/webapi/
// query/join-tables.md): single-valued navigation properties (lookups:
// parentaccountid, customerid_account, ownerid...) expand to the related
// record or null; collection-valued ones (the other side of a one-to-many
// relationship, and many-to-many relationships) to the related records.
// Each expansion takes $select, $filter, $orderby and $top; a nested $expand
// is refused as not supported rather than ignored.

// dataExpansion is one $expand item resolved against a table.
type dataExpansion struct {
	nav     string
	single  *navTarget // single-valued: the lookup
	oneMany *Rel1N     // collection: referencing rows
	n2n     *N2N       // collection: many-to-many
	target  *tableData
	sel     string // the expansion's $select ("" = every column)
	filter  filterNode
	orderby string
	top     int
}

// parseDataExpand resolves $expand for a table.
func (e *Env) parseDataExpand(def *TableDef, s string) ([]*dataExpansion, *dvError) {
	items, derr := parseExpand(s)
	if derr != nil {
		return nil, derr
	}
	names := make([]string, 0, len(items))
	for n := range items {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []*dataExpansion
	for _, name := range names {
		opt := items[name]
		x := &dataExpansion{nav: name, top: -1}
		switch {
		case def.navIdx[name].attr != nil:
			nt := def.navIdx[name]
			x.single = &nt
			if nt.target != "" {
				x.target = e.tables[nt.target]
			}
		case e.sch().n2nNavs[def.LogicalName][name] != nil:
			x.n2n = e.sch().n2nNavs[def.LogicalName][name]
			other := x.n2n.Entity2
			if def.LogicalName == x.n2n.Entity2 && x.n2n.Entity2Nav == name && x.n2n.Entity1 != x.n2n.Entity2 {
				other = x.n2n.Entity1
			}
			x.target = e.tables[other]
		default:
			for _, r := range e.oneToManyRels() {
				if r.ReferencedEntity == def.LogicalName && r.ReferencedNav == name {
					x.oneMany, x.target = r, e.tables[r.ReferencingEntity]
					break
				}
			}
		}
		if x.single == nil && x.n2n == nil && x.oneMany == nil {
			return nil, noProperty(name, def.LogicalName)
		}
		if len(opt.expand) > 0 {
			return nil, unsupportedQueryOption("$expand (nested in $expand)")
		}
		x.orderby = opt.orderby
		if opt.top != "" {
			n, err := strconv.Atoi(opt.top)
			if err != nil || n < 0 {
				return nil, errf(400, codeBadRequest, "Invalid $top value '%s'.", opt.top)
			}
			x.top = n
		}
		if x.target != nil || x.single != nil {
			tdef := def
			if x.target != nil {
				tdef = x.target.def
			}
			x.sel = strings.Join(opt.sel, ",")
			if x.target == nil {
				// The owner's type is principal, whose only property is ownerid
				// (web-api-entitytypes.md).
				for _, n := range opt.sel {
					if n != "ownerid" {
						return nil, noProperty(n, "principal")
					}
				}
				x.sel = ""
			}
			if x.target != nil && x.sel != "" {
				if _, derr := selectColumns(tdef, x.sel); derr != nil {
					return nil, derr
				}
			}
			if opt.filter != "" && x.target != nil {
				node, err := parseFilter(opt.filter, knownProp(tdef))
				if err != nil {
					return nil, filterDVError(err, opt.filter, tdef.LogicalName)
				}
				x.filter = node
			}
		}
		out = append(out, x)
	}
	return out, nil
}

// appendExpanded writes a record followed by its expansions.
func (e *Env) appendExpanded(b []byte, td *tableData, rec *Record, cols []*AttrDef, ann annotations, context string, xs []*dataExpansion) ([]byte, *dvError) {
	b = e.appendRecord(b, td, rec, cols, ann, context)
	if len(xs) == 0 {
		return b, nil
	}
	b = b[:len(b)-1] // reopen the object
	for _, x := range xs {
		b = append(b, ',')
		b = appendKey(b, x.nav)
		if x.single != nil {
			ref, _ := rec.Vals[x.single.attr.idx].(Ref)
			ttd := x.target
			if ttd == nil && ref.Table != "" {
				ttd = e.tables[ref.Table]
			}
			var rel *Record
			if ttd != nil && (x.single.target == "" || ref.Table == x.single.target) {
				rel = ttd.recs[ref.ID]
			}
			if rel == nil || x.filter != nil && !x.filter.eval(propGetter(ttd.def, rel)) {
				b = append(b, "null"...)
				continue
			}
			cols, derr := selectColumns(ttd.def, x.sel)
			if derr != nil {
				return nil, derr
			}
			b = e.appendRecord(b, ttd, rel, cols, ann, "")
			continue
		}
		var related []*Record
		if x.oneMany != nil {
			a := x.target.def.Attr(x.oneMany.ReferencingAttribute)
			for _, id := range x.target.ids {
				r := x.target.recs[id]
				if ref, ok := r.Vals[a.idx].(Ref); ok && ref.ID == rec.ID {
					related = append(related, r)
				}
			}
		} else {
			it := e.tables[x.n2n.IntersectEntity]
			mine, theirs := x.n2n.Entity1Attr, x.n2n.Entity2Attr
			if td.def.LogicalName == x.n2n.Entity2 && x.target.def.LogicalName != x.n2n.Entity2 {
				mine, theirs = theirs, mine
			}
			for _, iid := range it.ids {
				ir := it.recs[iid]
				if ir.get(it.def, mine) == rec.ID {
					oid, _ := ir.get(it.def, theirs).(string)
					if r := x.target.recs[oid]; r != nil {
						related = append(related, r)
					}
				}
			}
		}
		if x.filter != nil {
			kept := related[:0:0]
			for _, r := range related {
				if x.filter.eval(propGetter(x.target.def, r)) {
					kept = append(kept, r)
				}
			}
			related = kept
		}
		if x.orderby != "" {
			if derr := sortRecords(x.target.def, related, x.orderby); derr != nil {
				return nil, derr
			}
		}
		if x.top >= 0 && x.top < len(related) {
			related = related[:x.top]
		}
		cols, _ := selectColumns(x.target.def, x.sel)
		b = append(b, '[')
		for i, r := range related {
			if i > 0 {
				b = append(b, ',')
			}
			b = e.appendRecord(b, x.target, r, cols, ann, "")
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}
