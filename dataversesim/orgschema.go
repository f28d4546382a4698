package dataversesim

import (
	"embed"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Org selects the shape of the organization a simulator serves.
type Org string

const (
	// OrgStandard is the shape of a real organization: the demo tables
	// defined from Microsoft's table reference pages (schemadata/tables),
	// every other standard table of the reference folder listed in
	// EntityDefinitions (schemadata/names.json, most of them empty), a mix
	// of change tracking on and off, intersect tables, virtual tables that
	// refuse RetrieveMultiple, an elastic table and tables hidden from
	// Advanced Find. cmd/dataverse-sim serves it with -org standard.
	OrgStandard Org = "standard"
	// OrgSmall is the hand-written organization of about twenty tables the
	// simulator had first: fast to seed and scan, for tests that need speed.
	// It is the zero value's choice in Options, so tests opt in to the
	// standard shape.
	OrgSmall Org = "small"
)

// ParseOrg reads an -org flag value.
func ParseOrg(s string) (Org, error) {
	switch Org(s) {
	case OrgStandard, OrgSmall:
		return Org(s), nil
	case "":
		return OrgSmall, nil
	}
	return "", fmt.Errorf("unknown organization shape %q: use %q or %q", s, OrgStandard, OrgSmall)
}

// schemaData holds facts read from Microsoft's table reference pages
// (powerapps-docs, developer/data-platform/reference/entities/<table>.md;
// see schemadata/README.md for the source commits and the date read).
//
//go:embed schemadata
var schemaData embed.FS

// tableDoc is one schemadata/tables/<name>.json file: the facts of one
// table's reference page (format: schemadata/README.md).
type tableDoc struct {
	Source         string      `json:"source"`
	LogicalName    string      `json:"logicalName"`
	EntitySetName  string      `json:"entitySetName"`
	PrimaryID      string      `json:"primaryId"`
	PrimaryName    string      `json:"primaryName"`
	OwnershipType  string      `json:"ownershipType"`
	ObjectTypeCode int         `json:"objectTypeCode"`
	IsActivity     bool        `json:"isActivity"`
	IsIntersect    bool        `json:"isIntersect"`
	Messages       []string    `json:"messages"`
	Columns        []columnDoc `json:"columns"`
	ManyToOne      []relDoc    `json:"manyToOne"`
	OneToMany      []relDoc    `json:"oneToMany"`
	ManyToMany     []n2nDoc    `json:"manyToMany"`
}

type columnDoc struct {
	Name             string            `json:"name"`
	Type             string            `json:"type"`
	Create           *bool             `json:"create"`
	Update           *bool             `json:"update"`
	Read             *bool             `json:"read"`
	Format           string            `json:"format"`
	DateTimeBehavior string            `json:"dateTimeBehavior"`
	MaxLength        int               `json:"maxLength"`
	Targets          []string          `json:"targets"`
	Options          []json.RawMessage `json:"options"`
	AttributeOf      string            `json:"attributeOf"`
	SourceType       int               `json:"sourceType"`
	AutoNumber       string            `json:"autoNumber"`
}

type relDoc struct {
	SchemaName           string `json:"schemaName"`
	ReferencedEntity     string `json:"referencedEntity"`
	ReferencedAttribute  string `json:"referencedAttribute"`
	ReferencingEntity    string `json:"referencingEntity"`
	ReferencingAttribute string `json:"referencingAttribute"`
	ReferencingNav       string `json:"referencingNav"`
	ReferencedNav        string `json:"referencedNav"`
	Cascade              string `json:"cascade"`
}

type n2nDoc struct {
	SchemaName      string `json:"schemaName"`
	IntersectEntity string `json:"intersectEntity"`
	Entity1         string `json:"entity1"`
	Entity1Attr     string `json:"entity1Attr"`
	Entity1Nav      string `json:"entity1Nav"`
	Entity2         string `json:"entity2"`
	Entity2Attr     string `json:"entity2Attr"`
	Entity2Nav      string `json:"entity2Nav"`
}

type namesDoc struct {
	Source string   `json:"source"`
	Tables []string `json:"tables"`
}

// docTypes maps a reference page's Type row to the simulator's type. Types
// that are not properties of the Web API entity type are left out of the
// table: PartyList columns are read and written as activityparty rows,
// ManagedProperty and CalendarRules are not plain values.
var docTypes = map[string]AttrType{
	"String": TString, "Memo": TMemo, "Integer": TInteger, "BigInt": TBigInt, "Decimal": TDecimal,
	"Double": TDouble, "Money": TMoney, "Boolean": TBoolean, "DateTime": TDateTime, "Picklist": TPicklist,
	"MultiSelectPicklist": TMultiPick, "State": TState, "Status": TStatus, "Lookup": TLookup,
	"Customer": TCustomer, "Owner": TOwner, "Uniqueidentifier": TUniqueID, "EntityName": TEntityName,
	"File": TFile, "Image": TImage,
}

// parseCascade reads "Assign:Cascade Delete:RemoveLink ..." as written in
// the schemadata files (the reference pages' CascadeConfiguration row).
func parseCascade(s string) Cascade {
	var c Cascade
	for _, f := range strings.Fields(s) {
		k, v, ok := strings.Cut(f, ":")
		if !ok {
			continue
		}
		switch k {
		case "Assign":
			c.Assign = v
		case "Delete":
			c.Delete = v
		case "Merge":
			c.Merge = v
		case "Reparent":
			c.Reparent = v
		case "Share":
			c.Share = v
		case "Unshare":
			c.Unshare = v
		}
	}
	return c
}

// option reads [value,"label"] or [value,"label",state].
func parseOption(raw json.RawMessage) (Option, error) {
	var parts []any
	if err := json.Unmarshal(raw, &parts); err != nil || len(parts) < 2 {
		return Option{}, fmt.Errorf("option %s: want [value,label] or [value,label,state]", raw)
	}
	v, ok := parts[0].(float64)
	l, ok2 := parts[1].(string)
	if !ok || !ok2 {
		return Option{}, fmt.Errorf("option %s: want [value,label]", raw)
	}
	o := Option{Value: int64(v), Label: l}
	if len(parts) > 2 {
		if st, ok := parts[2].(float64); ok {
			o.State = int64(st)
		}
	}
	return o, nil
}

// loadTableDocs reads every schemadata/tables/*.json file.
func loadTableDocs(fsys fs.FS) ([]*tableDoc, error) {
	files, err := fs.Glob(fsys, "schemadata/tables/*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []*tableDoc
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		d := &tableDoc{}
		if err := json.Unmarshal(b, d); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if d.LogicalName == "" || d.EntitySetName == "" || d.PrimaryID == "" {
			return nil, fmt.Errorf("%s: logicalName, entitySetName and primaryId are required", f)
		}
		if want := strings.TrimSuffix(path.Base(f), ".json"); want != d.LogicalName {
			return nil, fmt.Errorf("%s: logicalName %q does not match the file name", f, d.LogicalName)
		}
		out = append(out, d)
	}
	return out, nil
}

// tableFromDoc builds a table definition from a reference page's facts.
// Columns that are not Web API properties are left out: PartyList and
// other complex types (see docTypes) and the companions of lookups that
// carry AttributeOf (createdbyname, owneridtype, ...), which the Web API
// returns as annotations of the lookup, not as properties.
func tableFromDoc(d *tableDoc) (*TableDef, error) {
	t := &TableDef{LogicalName: d.LogicalName, SetName: d.EntitySetName, PrimaryID: d.PrimaryID, PrimaryName: d.PrimaryName,
		ObjectTypeCode: d.ObjectTypeCode, IsActivity: d.IsActivity, IsIntersect: d.IsIntersect, Ownership: d.OwnershipType,
		Source: d.Source}
	// d.Messages is not used for Messages: the pages predate the bulk
	// messages (CreateMultiple...), which most standard tables support
	// (bulk-operations.md), so bulk.go's rule by table kind is truer.
	if t.Ownership == "" {
		t.Ownership = "None"
	}
	types := map[string]string{}
	for _, c := range d.Columns {
		types[c.Name] = c.Type
	}
	for _, c := range d.Columns {
		ty, ok := docTypes[c.Type]
		if !ok {
			continue
		}
		if c.AttributeOf != "" {
			switch types[c.AttributeOf] {
			case "Lookup", "Customer", "Owner", "PartyList":
				continue
			}
		}
		a := &AttrDef{Name: c.Name, Type: ty, Targets: c.Targets, AttributeOf: c.AttributeOf,
			IsPrimaryID: c.Name == d.PrimaryID, IsPrimary: c.Name == d.PrimaryName && d.PrimaryName != "",
			Format: c.Format, DateTimeBehavior: c.DateTimeBehavior, SourceType: c.SourceType, MaxLength: c.MaxLength, AutoNumber: c.AutoNumber}
		create := c.Create == nil || *c.Create
		update := c.Update == nil || *c.Update
		switch {
		case a.IsPrimaryID:
		case !create && !update:
			a.ReadOnly = true
		case create && !update:
			a.CreateOnly = true
		}
		if c.SourceType == 1 || c.SourceType == 2 {
			a.ReadOnly = true // calculated and rollup columns are computed by the server
		}
		for _, raw := range c.Options {
			o, err := parseOption(raw)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", d.LogicalName, c.Name, err)
			}
			if ty == TBoolean {
				continue
			}
			a.Options = append(a.Options, o)
		}
		if ty == TState && t.StateName == "" {
			t.StateName = schemaName(d.LogicalName) + "State"
		}
		t.Attrs = append(t.Attrs, a)
	}
	return t, nil
}

// relsFromDocs collects the one-to-many relationships of every page, one
// per SchemaName (each appears on both its tables' pages), keeping only
// relationships whose two tables and lookup column exist.
func relsFromDocs(s *schema, docs []*tableDoc) []*Rel1N {
	byName := map[string]*Rel1N{}
	var order []string
	add := func(r *Rel1N) {
		if cur, ok := byName[r.SchemaName]; ok {
			if cur.ReferencedNav == "" {
				cur.ReferencedNav = r.ReferencedNav
			}
			if cur.ReferencingNav == "" {
				cur.ReferencingNav = r.ReferencingNav
			}
			if cur.Cascade == (Cascade{}) {
				cur.Cascade = r.Cascade
			}
			return
		}
		byName[r.SchemaName] = r
		order = append(order, r.SchemaName)
	}
	for _, d := range docs {
		for _, m := range d.ManyToOne {
			add(&Rel1N{SchemaName: m.SchemaName, ReferencedEntity: m.ReferencedEntity, ReferencedAttribute: m.ReferencedAttribute,
				ReferencingEntity: d.LogicalName, ReferencingAttribute: m.ReferencingAttribute, ReferencingNav: m.ReferencingNav,
				Cascade: parseCascade(m.Cascade)})
		}
		for _, o := range d.OneToMany {
			add(&Rel1N{SchemaName: o.SchemaName, ReferencedEntity: d.LogicalName, ReferencedAttribute: d.PrimaryID,
				ReferencingEntity: o.ReferencingEntity, ReferencingAttribute: o.ReferencingAttribute, ReferencedNav: o.ReferencedNav,
				Cascade: parseCascade(o.Cascade)})
		}
	}
	var out []*Rel1N
	for _, n := range order {
		r := byName[n]
		from, to := s.byName[r.ReferencingEntity], s.byName[r.ReferencedEntity]
		if from == nil || to == nil || from.Attr(r.ReferencingAttribute) == nil {
			continue
		}
		if r.ReferencedAttribute == "" {
			r.ReferencedAttribute = to.PrimaryID
		}
		out = append(out, r)
	}
	return out
}

// stableHash spreads the standard-only tables deterministically over the
// realistic mix of flags (change tracking, Advanced Find, virtual).
func stableHash(s string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return h.Sum32()
}

// entitySetName derives a collection name for a table known only by its
// logical name. Dataverse's EntitySetName is the LogicalCollectionName, an
// English plural in almost every standard table; tables with a reference
// page carry the real one.
func entitySetName(logical string) string {
	switch {
	case strings.HasSuffix(logical, "y") && !strings.HasSuffix(logical, "ay") && !strings.HasSuffix(logical, "ey") && !strings.HasSuffix(logical, "oy"):
		return logical[:len(logical)-1] + "ies"
	case strings.HasSuffix(logical, "s"), strings.HasSuffix(logical, "x"), strings.HasSuffix(logical, "ch"), strings.HasSuffix(logical, "sh"):
		return logical + "es"
	}
	return logical + "s"
}

// Table types as EntityDefinitions' TableType reports them.
const (
	tableStandard = "Standard"
	tableElastic  = "Elastic"
	tableVirtual  = "Virtual"
)

// elasticTable is the standard organization's elastic table: elastic
// tables are custom tables (a Cosmos DB store behind Dataverse) that take
// DeleteMultiple and bulk batches of 100 (dataverse-reference 12).
const elasticTable = "cr1_telemetry"

// newStandardSchema builds the real-shaped organization: the small
// organization's tables with their columns replaced by the reference pages'
// facts where a page was read (custom cr1_* columns kept beside them), the
// other read tables added, every other standard table listed empty, and the
// relationships of the pages with their cascade configuration.
func newStandardSchema(fsys fs.FS) (*schema, error) {
	docs, err := loadTableDocs(fsys)
	if err != nil {
		return nil, err
	}
	s := newSchema()
	for _, d := range docs {
		nt, err := tableFromDoc(d)
		if err != nil {
			return nil, err
		}
		if old := s.byName[nt.LogicalName]; old != nil {
			mergeHandWritten(nt, old)
			s.replace(old, nt)
			continue
		}
		nt.ChangeTracking = stableHash(nt.LogicalName)%10 < 8
		nt.HasNotes = nt.Ownership == "UserOwned" && !nt.IsActivity
		s.add(nt)
	}
	s.add(&TableDef{LogicalName: elasticTable, SetName: elasticTable + "s", PrimaryID: elasticTable + "id", PrimaryName: "cr1_name",
		Ownership: "UserOwned", IsCustom: true, ChangeTracking: true, TableType: tableElastic,
		Attrs: cat([]*AttrDef{pk(elasticTable + "id"), primary("cr1_name"), &AttrDef{Name: "partitionid", Type: TString, CreateOnly: true},
			integer("cr1_value"), &AttrDef{Name: "ttlinseconds", Type: TInteger}}, audit(true))})
	if err := s.addNamesOnly(fsys); err != nil {
		return nil, err
	}
	s.rels = mergeRels(relsFromDocs(s, docs), s.rels)
	for _, d := range docs {
		for _, m := range d.ManyToMany {
			if s.n2nByName(m.SchemaName) != nil || s.byName[m.Entity1] == nil || s.byName[m.Entity2] == nil || s.byName[m.IntersectEntity] == nil {
				continue
			}
			s.n2n = append(s.n2n, &N2N{SchemaName: m.SchemaName, IntersectEntity: m.IntersectEntity, Entity1: m.Entity1, Entity2: m.Entity2,
				Entity1Attr: m.Entity1Attr, Entity2Attr: m.Entity2Attr, Entity1Nav: m.Entity1Nav, Entity2Nav: m.Entity2Nav})
		}
	}
	s.finish()
	return s, nil
}

// mergeHandWritten keeps what the demo organization adds to a standard
// table (custom columns, and the behaviour flags the seed and tests rely
// on) when the table's columns come from its reference page.
func mergeHandWritten(nt, old *TableDef) {
	nt.ChangeTracking, nt.HasNotes, nt.IsCustom = old.ChangeTracking, old.HasNotes, old.IsCustom
	nt.RefuseRetrieveMultiple = old.RefuseRetrieveMultiple
	if old.StateName != "" {
		nt.StateName = old.StateName
	}
	if nt.ObjectTypeCode == 0 {
		nt.ObjectTypeCode = old.ObjectTypeCode
	}
	if old.IsIntersect {
		nt.IsIntersect = true
	}
	have := map[string]bool{}
	for _, a := range nt.Attrs {
		have[a.Name] = true
	}
	for _, a := range old.Attrs {
		if !have[a.Name] {
			c := *a
			nt.Attrs = append(nt.Attrs, &c)
		}
	}
}

// replace puts nt in old's place (same position in EntityDefinitions).
func (s *schema) replace(old, nt *TableDef) {
	for i, t := range s.tables {
		if t == old {
			s.tables = append(s.tables[:i:i], s.tables[i+1:]...)
			break
		}
	}
	delete(s.bySet, old.SetName)
	s.add(nt)
}

func (s *schema) n2nByName(name string) *N2N {
	for _, r := range s.n2n {
		if r.SchemaName == name {
			return r
		}
	}
	return nil
}

// mergeRels keeps the pages' relationships and adds the hand-written ones
// the pages do not name (custom tables' relationships).
func mergeRels(fromDocs, hand []*Rel1N) []*Rel1N {
	seen := map[string]bool{}
	for _, r := range fromDocs {
		seen[r.SchemaName] = true
	}
	out := fromDocs
	for _, r := range hand {
		if !seen[r.SchemaName] {
			out = append(out, r)
		}
	}
	return out
}

// addNamesOnly lists every other standard table of the reference folder:
// a primary key, a primary name and the audit columns, no rows. The mix of
// flags is deterministic by name: about 70% change tracked, tables whose
// name joins two tables with "_" are intersects (N:N), about 3% are
// virtual tables that refuse RetrieveMultiple, about 10% are hidden from
// Advanced Find.
func (s *schema) addNamesOnly(fsys fs.FS) error {
	b, err := fs.ReadFile(fsys, "schemadata/names.json")
	if err != nil {
		return err
	}
	var nd namesDoc
	if err := json.Unmarshal(b, &nd); err != nil {
		return fmt.Errorf("schemadata/names.json: %w", err)
	}
	known := map[string]bool{}
	for _, n := range nd.Tables {
		known[n] = true
	}
	for n := range s.byName {
		known[n] = true
	}
	otc := 20000
	for _, n := range nd.Tables {
		if s.byName[n] != nil || n == "" {
			continue
		}
		set := entitySetName(n)
		if s.bySet[set] != nil {
			continue
		}
		h := stableHash(n)
		t := &TableDef{LogicalName: n, SetName: set, PrimaryID: n + "id", ObjectTypeCode: otc, Ownership: "OrganizationOwned",
			ChangeTracking: h%10 < 7, TableType: tableStandard, HiddenFromAdvancedFind: h%10 == 9, Source: nd.Source}
		otc++
		if a, b, ok := strings.Cut(n, "_"); ok && known[a] && known[b] {
			t.IsIntersect, t.Ownership = true, "None"
			t.Attrs = []*AttrDef{pk(n + "id"), guid(a + "id"), guid(b + "id"), ro(&AttrDef{Name: "versionnumber", Type: TBigInt})}
			s.add(t)
			continue
		}
		t.PrimaryName = "name"
		t.Attrs = cat([]*AttrDef{pk(n + "id"), primary("name")}, audit(false))
		if h%100 < 3 {
			t.TableType, t.RefuseRetrieveMultiple, t.ChangeTracking = tableVirtual, true, false
		}
		s.add(t)
	}
	return nil
}
