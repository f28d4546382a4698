package dataversesim

import (
	"crypto/sha1"
	"fmt"
	"strings"
	"sync"
)

// AttrType is a Dataverse AttributeType (AttributeMetadata.AttributeType).
type AttrType string

// Attribute types used by the seeded schema.
const (
	TString     AttrType = "String"
	TMemo       AttrType = "Memo"
	TInteger    AttrType = "Integer"
	TBigInt     AttrType = "BigInt"
	TDecimal    AttrType = "Decimal"
	TDouble     AttrType = "Double"
	TMoney      AttrType = "Money"
	TBoolean    AttrType = "Boolean"
	TDateTime   AttrType = "DateTime"
	TPicklist   AttrType = "Picklist"
	TMultiPick  AttrType = "Virtual" // MultiSelectPicklist: AttributeType Virtual, AttributeTypeName MultiSelectPicklistType
	TState      AttrType = "State"
	TStatus     AttrType = "Status"
	TLookup     AttrType = "Lookup"
	TCustomer   AttrType = "Customer"
	TOwner      AttrType = "Owner"
	TUniqueID   AttrType = "Uniqueidentifier"
	TFile       AttrType = "File"  // AttributeType Virtual in Dataverse; AttributeTypeName FileType
	TImage      AttrType = "Image" // AttributeType Virtual; AttributeTypeName ImageType
	TEntityName AttrType = "EntityName"
)

// Option is one choice of a picklist, state or status column.
type Option struct {
	Value int64
	Label string
	State int64 // for status options: the statecode it belongs to
}

// AttrDef describes one column.
type AttrDef struct {
	Name        string
	Type        AttrType
	Targets     []string // lookups
	Options     []Option // picklists, state, status
	AttributeOf string
	IsPrimaryID bool
	IsPrimary   bool // primary name
	ReadOnly    bool // IsValidForCreate/Update false (modifiedon, createdby...)
	CreateOnly  bool // overriddencreatedon
	MaxSizeKB   int  // file and image columns
	Logical     bool
	// Facts from the table reference pages (zero values: not stated).
	Format           string // String/Integer/DateTime format, e.g. Email, Url, DateOnly, DateAndTime
	DateTimeBehavior string // DateTime: UserLocal, DateOnly, TimeZoneIndependent
	SourceType       int    // 0 simple, 1 calculated, 2 rollup (read-only)
	MaxLength        int    // String and Memo
	AutoNumber       string // AutoNumberFormat, e.g. "CAS-{SEQNUM:5}-{RANDSTRING:6}"
	// nav maps a lookup target to the single-valued navigation property used by @odata.bind.
	nav map[string]string
	idx int

	// GlobalOptionSet names the global choice (GlobalOptionSetDefinitions)
	// a Picklist/MultiSelectPicklist column uses; "" for a local choice.
	GlobalOptionSet string
}

// IsLookup reports whether the column is a lookup of any kind.
func (a *AttrDef) IsLookup() bool {
	return a.Type == TLookup || a.Type == TCustomer || a.Type == TOwner
}

func (a *AttrDef) optionLabel(v int64) string {
	for _, o := range a.Options {
		if o.Value == v {
			return o.Label
		}
	}
	return ""
}

// N2N describes a many-to-many relationship and its intersect table.
type N2N struct {
	SchemaName, IntersectEntity string
	Entity1, Entity2            string
	Entity1Attr, Entity2Attr    string
	Entity1Nav, Entity2Nav      string
}

// TableDef describes one table (EntityDefinitions entry).
type TableDef struct {
	LogicalName, SetName, PrimaryID, PrimaryName string
	ObjectTypeCode                               int
	ChangeTracking, IsIntersect, IsCustom        bool
	RefuseRetrieveMultiple                       bool
	IsActivity, HasNotes                         bool
	Ownership                                    string // UserOwned, OrganizationOwned, BusinessOwned, None
	StateName                                    string // e.g. AccountState, for the 0x80048408 message
	TableType                                    string // Standard (""), Elastic or Virtual
	HiddenFromAdvancedFind                       bool   // IsValidForAdvancedFind false besides intersects
	Source                                       string // the reference page the facts come from, if any
	Attrs                                        []*AttrDef
	attrIdx                                      map[string]*AttrDef
	navIdx                                       map[string]navTarget // single-valued navigation property -> lookup + target

	// Messages are the SDK messages the reference page lists for the table
	// (Create, Update, CreateMultiple, ...); nil when not stated, in which
	// case bulk.go decides from the table's kind.
	Messages []string
}

type navTarget struct {
	attr   *AttrDef
	target string // "" for owner: decided by the bound entity set
}

// Attr returns the column with that logical name or nil.
func (t *TableDef) Attr(name string) *AttrDef { return t.attrIdx[name] }

// metadataID is a stable GUID derived from a name, so MetadataId values survive restarts.
func metadataID(parts ...string) string {
	h := sha1.Sum([]byte(strings.Join(parts, "/")))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// schema is the set of tables every environment has.
type schema struct {
	tables  []*TableDef
	byName  map[string]*TableDef
	bySet   map[string]*TableDef
	n2n     []*N2N
	rels    []*Rel1N                   // one-to-many relationships with their cascade configuration
	n2nNavs map[string]map[string]*N2N // entity -> collection nav -> relationship
}

func (s *schema) add(t *TableDef) {
	t.attrIdx = map[string]*AttrDef{}
	t.navIdx = map[string]navTarget{}
	for i, a := range t.Attrs {
		a.idx = i
		t.attrIdx[a.Name] = a
	}
	s.tables = append(s.tables, t)
	s.byName[t.LogicalName] = t
	s.bySet[t.SetName] = t
}

// finish derives navigation property names for lookups, following the
// reference: single-target lookups use the attribute name, customer lookups
// <attr>_<target>, activity regarding <attr>_<target>_<entity>, owner "ownerid".
func (s *schema) finish() {
	for _, t := range s.tables {
		t.navIdx = map[string]navTarget{}
		for _, a := range t.Attrs {
			if !a.IsLookup() {
				continue
			}
			a.nav = map[string]string{}
			for _, tg := range a.Targets {
				var nav string
				switch {
				case a.Type == TOwner:
					nav = a.Name
				case len(a.Targets) == 1:
					nav = a.Name
				case a.Name == "regardingobjectid":
					nav = a.Name + "_" + tg + "_" + t.LogicalName
				default:
					nav = a.Name + "_" + tg
				}
				if r := s.relFor(t.LogicalName, a.Name, tg); r != nil && r.ReferencingNav != "" && a.Type != TOwner {
					nav = r.ReferencingNav // the page's ReferencingEntityNavigationPropertyName
				}
				a.nav[tg] = nav
				if a.Type == TOwner {
					t.navIdx[nav] = navTarget{attr: a}
				} else {
					t.navIdx[nav] = navTarget{attr: a, target: tg}
				}
			}
		}
	}
	s.n2nNavs = map[string]map[string]*N2N{}
	for _, r := range s.n2n {
		for _, e := range [][2]string{{r.Entity1, r.Entity1Nav}, {r.Entity2, r.Entity2Nav}} {
			if s.n2nNavs[e[0]] == nil {
				s.n2nNavs[e[0]] = map[string]*N2N{}
			}
			s.n2nNavs[e[0]][e[1]] = r
		}
	}
	s.rels = relationshipsFromLookups(s)
}

// attribute builders keep the table definitions below readable.
func pk(n string) *AttrDef      { return &AttrDef{Name: n, Type: TUniqueID, IsPrimaryID: true} }
func str(n string) *AttrDef     { return &AttrDef{Name: n, Type: TString} }
func primary(n string) *AttrDef { return &AttrDef{Name: n, Type: TString, IsPrimary: true} }
func memo(n string) *AttrDef    { return &AttrDef{Name: n, Type: TMemo} }
func integer(n string) *AttrDef { return &AttrDef{Name: n, Type: TInteger} }
func money(n string) *AttrDef   { return &AttrDef{Name: n, Type: TMoney} }
func dec(n string) *AttrDef     { return &AttrDef{Name: n, Type: TDecimal} }
func boolean(n string) *AttrDef { return &AttrDef{Name: n, Type: TBoolean} }
func date(n string) *AttrDef    { return &AttrDef{Name: n, Type: TDateTime} }
func guid(n string) *AttrDef    { return &AttrDef{Name: n, Type: TUniqueID} }
func lookup(n string, t ...string) *AttrDef {
	ty := TLookup
	if len(t) > 1 && n != "regardingobjectid" && n != "objectid" {
		ty = TCustomer
	}
	return &AttrDef{Name: n, Type: ty, Targets: t}
}
func ro(a *AttrDef) *AttrDef { a.ReadOnly = true; return a }
func pick(n string, labels ...string) *AttrDef {
	a := &AttrDef{Name: n, Type: TPicklist}
	for i, l := range labels {
		a.Options = append(a.Options, Option{Value: int64(i + 1), Label: l})
	}
	return a
}
func multi(n string, labels ...string) *AttrDef {
	a := pick(n, labels...)
	a.Type = TMultiPick
	return a
}

// stateStatus adds statecode/statuscode with the given options; statuses list
// (value,label,state) triples.
func stateStatus(states []string, statuses []Option) []*AttrDef {
	s := &AttrDef{Name: "statecode", Type: TState}
	for i, l := range states {
		s.Options = append(s.Options, Option{Value: int64(i), Label: l})
	}
	return []*AttrDef{s, {Name: "statuscode", Type: TStatus, Options: statuses}}
}

// audit columns every ordinary table has. modifiedon/createdon/createdby are
// not settable (reference 3); overriddencreatedon is settable on create only.
func audit(owned bool) []*AttrDef {
	a := []*AttrDef{
		ro(date("createdon")), ro(date("modifiedon")),
		ro(lookup("createdby", "systemuser")), ro(lookup("modifiedby", "systemuser")),
		{Name: "overriddencreatedon", Type: TDateTime, CreateOnly: true},
		ro(&AttrDef{Name: "versionnumber", Type: TBigInt}),
	}
	if owned {
		a = append(a, &AttrDef{Name: "ownerid", Type: TOwner, Targets: []string{"systemuser", "team"}},
			ro(lookup("owningbusinessunit", "businessunit")))
	}
	return a
}

func cat(parts ...[]*AttrDef) []*AttrDef {
	var out []*AttrDef
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var activeInactive = []string{"Active", "Inactive"}

// newSchema builds the demo schema: the tables issue 3 item 6 names.
func newSchema() *schema {
	s := &schema{byName: map[string]*TableDef{}, bySet: map[string]*TableDef{}}
	s.add(&TableDef{LogicalName: "organization", SetName: "organizations", PrimaryID: "organizationid", PrimaryName: "name", ObjectTypeCode: 1019, Ownership: "OrganizationOwned",
		Attrs: []*AttrDef{pk("organizationid"), primary("name"), integer("expirechangetrackingindays"), integer("maxuploadfilesize"), ro(date("modifiedon")), ro(&AttrDef{Name: "versionnumber", Type: TBigInt})}})
	s.add(&TableDef{LogicalName: "businessunit", SetName: "businessunits", PrimaryID: "businessunitid", PrimaryName: "name", ObjectTypeCode: 10, Ownership: "BusinessOwned", ChangeTracking: true,
		Attrs: cat([]*AttrDef{pk("businessunitid"), primary("name"), lookup("parentbusinessunitid", "businessunit"), str("divisionname"), boolean("isdisabled")}, audit(false))})
	s.add(&TableDef{LogicalName: "transactioncurrency", SetName: "transactioncurrencies", PrimaryID: "transactioncurrencyid", PrimaryName: "currencyname", ObjectTypeCode: 9105, Ownership: "OrganizationOwned",
		Attrs: cat([]*AttrDef{pk("transactioncurrencyid"), primary("currencyname"), str("isocurrencycode"), str("currencysymbol"), dec("exchangerate")}, stateStatus(activeInactive, []Option{{1, "Active", 0}, {2, "Inactive", 1}}), audit(false))})
	s.add(&TableDef{LogicalName: "systemuser", SetName: "systemusers", PrimaryID: "systemuserid", PrimaryName: "fullname", ObjectTypeCode: 8, Ownership: "BusinessOwned", ChangeTracking: true,
		Attrs: cat([]*AttrDef{pk("systemuserid"), primary("fullname"), str("firstname"), str("lastname"), str("domainname"), str("internalemailaddress"), guid("azureactivedirectoryobjectid"), guid("applicationid"),
			boolean("isdisabled"), pick("accessmode", "Read-Write", "Administrative", "Read", "Support User", "Non-interactive", "Delegated Admin"), lookup("businessunitid", "businessunit")}, audit(false))})
	s.add(&TableDef{LogicalName: "team", SetName: "teams", PrimaryID: "teamid", PrimaryName: "name", ObjectTypeCode: 9, Ownership: "BusinessOwned", ChangeTracking: true,
		Attrs: cat([]*AttrDef{pk("teamid"), primary("name"), pick("teamtype", "Owner", "Access", "Security Group", "Office Group"), lookup("businessunitid", "businessunit"), boolean("isdefault")}, audit(false))})
	s.add(&TableDef{LogicalName: "role", SetName: "roles", PrimaryID: "roleid", PrimaryName: "name", ObjectTypeCode: 1036, Ownership: "BusinessOwned", ChangeTracking: true,
		Attrs: cat([]*AttrDef{pk("roleid"), primary("name"), lookup("roletemplateid", "roletemplate"), lookup("businessunitid", "businessunit")}, audit(false))})
	s.add(&TableDef{LogicalName: "account", SetName: "accounts", PrimaryID: "accountid", PrimaryName: "name", ObjectTypeCode: 1, Ownership: "UserOwned", ChangeTracking: true, HasNotes: true, StateName: "AccountState",
		Attrs: cat([]*AttrDef{pk("accountid"), primary("name"), str("accountnumber"), str("telephone1"), str("telephone2"), str("fax"), str("emailaddress1"), str("websiteurl"),
			str("address1_line1"), str("address1_city"), str("address1_stateorprovince"), str("address1_postalcode"), str("address1_country"), memo("description"),
			pick("industrycode", "Accounting", "Agriculture", "Broadcasting", "Brokers", "Building Supply", "Business Services", "Consulting", "Consumer Services"),
			pick("accountcategorycode", "Preferred Customer", "Standard"), pick("customertypecode", "Competitor", "Consultant", "Customer", "Investor", "Partner"),
			money("revenue"), ro(money("revenue_base")), money("creditlimit"), lookup("transactioncurrencyid", "transactioncurrency"), dec("exchangerate"), integer("numberofemployees"),
			boolean("creditonhold"), boolean("donotemail"), date("lastusedincampaign"), lookup("parentaccountid", "account"), lookup("primarycontactid", "contact"),
			ro(lookup("masterid", "account")),
			globalChoice("cr1_region", multi("cr1_regions", "North", "South", "East", "West", "Central"))},
			stateStatus(activeInactive, []Option{{1, "Active", 0}, {2, "Inactive", 1}}), audit(true))})
	s.add(&TableDef{LogicalName: "contact", SetName: "contacts", PrimaryID: "contactid", PrimaryName: "fullname", ObjectTypeCode: 2, Ownership: "UserOwned", ChangeTracking: true, HasNotes: true, StateName: "ContactState",
		Attrs: cat([]*AttrDef{pk("contactid"), primary("fullname"), str("firstname"), str("lastname"), str("emailaddress1"), str("telephone1"), str("jobtitle"), {Name: "birthdate", Type: TDateTime, DateTimeBehavior: "DateOnly", Format: "DateOnly"},
			pick("gendercode", "Male", "Female"), lookup("parentcustomerid", "account", "contact"), money("annualincome"), lookup("transactioncurrencyid", "transactioncurrency"), boolean("donotphone"),
			ro(lookup("masterid", "contact"))},
			stateStatus(activeInactive, []Option{{1, "Active", 0}, {2, "Inactive", 1}}), audit(true))})
	s.add(&TableDef{LogicalName: "opportunity", SetName: "opportunities", PrimaryID: "opportunityid", PrimaryName: "name", ObjectTypeCode: 3, Ownership: "UserOwned", ChangeTracking: true, HasNotes: true, StateName: "OpportunityState",
		Attrs: cat([]*AttrDef{pk("opportunityid"), primary("name"), lookup("customerid", "account", "contact"), lookup("parentaccountid", "account"), money("estimatedvalue"), lookup("transactioncurrencyid", "transactioncurrency"),
			date("estimatedclosedate"), integer("closeprobability"), pick("opportunityratingcode", "Hot", "Warm", "Cold"), memo("description"),
			money("actualvalue"), date("actualclosedate")},
			stateStatus([]string{"Open", "Won", "Lost"}, []Option{{1, "In Progress", 0}, {2, "On Hold", 0}, {3, "Won", 1}, {4, "Canceled", 2}, {5, "Out-Sold", 2}}), audit(true))})
	// lead: change tracking deliberately off, so the engine meets a table it must fully sync.
	s.add(&TableDef{LogicalName: "lead", SetName: "leads", PrimaryID: "leadid", PrimaryName: "fullname", ObjectTypeCode: 4, Ownership: "UserOwned", HasNotes: true, StateName: "LeadState",
		Attrs: cat([]*AttrDef{pk("leadid"), primary("fullname"), str("firstname"), str("lastname"), str("subject"), str("companyname"), str("emailaddress1"), pick("leadsourcecode", "Advertisement", "Employee Referral", "External Referral", "Partner", "Web"),
			money("budgetamount"), lookup("transactioncurrencyid", "transactioncurrency")},
			stateStatus([]string{"Open", "Qualified", "Disqualified"}, []Option{{1, "New", 0}, {2, "Contacted", 0}, {3, "Qualified", 1}, {4, "Lost", 2}}), audit(true))})
	s.add(&TableDef{LogicalName: "task", SetName: "tasks", PrimaryID: "activityid", PrimaryName: "subject", ObjectTypeCode: 4212, Ownership: "UserOwned", ChangeTracking: true, IsActivity: true, StateName: "TaskState",
		Attrs: cat([]*AttrDef{pk("activityid"), primary("subject"), memo("description"), date("scheduledend"), pick("prioritycode", "Low", "Normal", "High"), integer("percentcomplete"),
			lookup("regardingobjectid", "account", "contact", "opportunity", "lead")},
			stateStatus([]string{"Open", "Completed", "Canceled"}, []Option{{2, "Not Started", 0}, {3, "In Progress", 0}, {5, "Completed", 1}, {6, "Canceled", 2}}), audit(true))})
	s.add(&TableDef{LogicalName: "annotation", SetName: "annotations", PrimaryID: "annotationid", PrimaryName: "subject", ObjectTypeCode: 5, Ownership: "UserOwned", ChangeTracking: true,
		Attrs: cat([]*AttrDef{pk("annotationid"), primary("subject"), memo("notetext"), boolean("isdocument"), str("filename"), str("mimetype"), integer("filesize"), memo("documentbody"),
			lookup("objectid", "account", "contact", "opportunity", "lead", "cr1_project"), &AttrDef{Name: "objecttypecode", Type: TEntityName}}, audit(true))})
	s.add(&TableDef{LogicalName: "cr1_project", SetName: "cr1_projects", PrimaryID: "cr1_projectid", PrimaryName: "cr1_name", ObjectTypeCode: 10100, Ownership: "UserOwned", ChangeTracking: true, IsCustom: true, HasNotes: true, StateName: "cr1_projectState",
		Attrs: cat([]*AttrDef{pk("cr1_projectid"), primary("cr1_name"), lookup("cr1_accountid", "account"), money("cr1_budget"), lookup("transactioncurrencyid", "transactioncurrency"), date("cr1_startdate"),
			multi("cr1_tags", "Internal", "External", "Urgent", "Research"), pick("cr1_phase", "Plan", "Build", "Run"),
			{Name: "cr1_code", Type: TString, AutoNumber: "PRJ-{SEQNUM:6}", MaxLength: 100},
			{Name: "cr1_document", Type: TFile, MaxSizeKB: defaultMaxFileSizeMB * 1024}, {Name: "cr1_document_name", Type: TString, AttributeOf: "cr1_document", ReadOnly: true},
			{Name: "cr1_image", Type: TImage, MaxSizeKB: 10240}, {Name: "cr1_imageid", Type: TUniqueID, AttributeOf: "cr1_image", ReadOnly: true}},
			stateStatus(activeInactive, []Option{{1, "Active", 0}, {2, "Inactive", 1}}), audit(true))})
	// Intersect tables: readable, but Create is refused (restore goes through $ref).
	s.add(&TableDef{LogicalName: "systemuserroles", SetName: "systemuserrolescollection", PrimaryID: "systemuserroleid", ObjectTypeCode: 15, IsIntersect: true, Ownership: "None",
		Attrs: []*AttrDef{pk("systemuserroleid"), guid("systemuserid"), guid("roleid"), ro(&AttrDef{Name: "versionnumber", Type: TBigInt})}})
	s.add(&TableDef{LogicalName: "teammembership", SetName: "teammemberships", PrimaryID: "teammembershipid", ObjectTypeCode: 23, IsIntersect: true, Ownership: "None",
		Attrs: []*AttrDef{pk("teammembershipid"), guid("systemuserid"), guid("teamid"), ro(&AttrDef{Name: "versionnumber", Type: TBigInt})}})
	s.add(&TableDef{LogicalName: "cr1_account_cr1_project", SetName: "cr1_account_cr1_projectset", PrimaryID: "cr1_account_cr1_projectid", ObjectTypeCode: 10101, IsIntersect: true, IsCustom: true, Ownership: "None", ChangeTracking: true,
		Attrs: []*AttrDef{pk("cr1_account_cr1_projectid"), guid("accountid"), guid("cr1_projectid"), ro(&AttrDef{Name: "versionnumber", Type: TBigInt})}})
	// Tables that refuse RetrieveMultiple (reference 3).
	for i, n := range []string{"postregarding", "postrole", "sharepointdocument"} {
		s.add(&TableDef{LogicalName: n, SetName: n + "s", PrimaryID: n + "id", ObjectTypeCode: 8000 + i, RefuseRetrieveMultiple: true, Ownership: "None",
			Attrs: []*AttrDef{pk(n + "id")}})
	}
	addOrgTables(s)
	s.n2n = []*N2N{
		{SchemaName: "systemuserroles_association", IntersectEntity: "systemuserroles", Entity1: "systemuser", Entity2: "role", Entity1Attr: "systemuserid", Entity2Attr: "roleid", Entity1Nav: "systemuserroles_association", Entity2Nav: "systemuserroles_association"},
		{SchemaName: "teammembership_association", IntersectEntity: "teammembership", Entity1: "systemuser", Entity2: "team", Entity1Attr: "systemuserid", Entity2Attr: "teamid", Entity1Nav: "teammembership_association", Entity2Nav: "teammembership_association"},
		{SchemaName: "cr1_account_cr1_project", IntersectEntity: "cr1_account_cr1_project", Entity1: "account", Entity2: "cr1_project", Entity1Attr: "accountid", Entity2Attr: "cr1_projectid", Entity1Nav: "cr1_account_cr1_project", Entity2Nav: "cr1_account_cr1_project"},
	}
	s.finish()
	return s
}

// sharedSchema is immutable after construction, so every environment and
// server with the default schema options shares it.
var sharedSchema = newSchema()

// schemaFor returns the schema for a server's options: the shared schema of
// the organization shape unless Options.WideColumns or Options.MaxFileSizeMB
// change it, in which case a private copy (also immutable after
// construction) is built.
func schemaFor(o Options) (*schema, error) {
	custom := o.WideColumns > 0 || o.MaxFileSizeMB > 0 && o.MaxFileSizeMB != defaultMaxFileSizeMB
	var s *schema
	switch {
	case o.Org == OrgStandard && !custom:
		return standardSchema()
	case o.Org == OrgStandard:
		var err error
		if s, err = newStandardSchema(schemaData); err != nil {
			return nil, err
		}
	case !custom:
		return sharedSchema, nil
	default:
		s = newSchema()
	}
	if o.MaxFileSizeMB > 0 {
		s.byName["cr1_project"].Attr("cr1_document").MaxSizeKB = o.MaxFileSizeMB * 1024
	}
	if o.WideColumns > 0 {
		t := s.byName[o.WideTable]
		if t == nil {
			return nil, fmt.Errorf("WideTable %q is not a table", o.WideTable)
		}
		for i := range o.WideColumns {
			a := str(WideColumnName(i))
			a.idx = len(t.Attrs)
			t.Attrs = append(t.Attrs, a)
			t.attrIdx[a.Name] = a
		}
	}
	return s, nil
}

// standardSchema is built once per process from the embedded facts and
// shared, immutable, by every server of the standard shape.
var standardSchema = sync.OnceValues(func() (*schema, error) { return newStandardSchema(schemaData) })

// defaultMaxFileSizeMB is cr1_document's MaxSizeInKB / 1024 by default.
const defaultMaxFileSizeMB = 32

// WideColumnName is the logical name of the i-th (0-based) column added by
// Options.WideColumns: cr1_wide001, cr1_wide002, ...
func WideColumnName(i int) string { return fmt.Sprintf("cr1_wide%03d", i+1) }
