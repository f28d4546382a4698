package dataversesim

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Seeding (issue 3 item 6): deterministic from Options.Seed and the
// environment's salt, so the second environment has different ids for the
// same shapes. Owners are users and teams; account.parentaccountid is a
// self-reference and account.primarycontactid <-> contact.parentcustomerid a cycle.

var (
	firstNames = []string{"Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana", "Ivan", "Jia", "Kofi", "Lena", "Mateo", "Nia", "Omar", "Priya"}
	lastNames  = []string{"Novak", "Smith", "Garcia", "Kim", "Okafor", "Rossi", "Dubois", "Tanaka", "Silva", "Jensen", "Kowalski", "Haddad"}
	words      = []string{"Alpine", "Blue", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper", "Kestrel", "Lumen", "Maple", "Nimbus", "Orchid", "Pioneer"}
	suffixes   = []string{"Ltd", "Inc", "GmbH", "Group", "Labs", "Partners", "Systems", "Trading"}
	cities     = []string{"Oslo", "Lyon", "Austin", "Osaka", "Porto", "Leeds", "Graz", "Perth"}
	baseTime   = time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)
)

// seeder holds ids made so far so later tables can point at them.
type seeder struct {
	e      *Env
	r      *rand.Rand
	users  []string // human users (owners)
	teams  []string
	bus    []string
	cur    []string
	admin  string // an admin systemuser (createdby)
	sysAdm map[string]string
	ids    map[string][]string
}

func (sd *seeder) pick(list []string) string { return list[sd.r.IntN(len(list))] }

func (sd *seeder) date() time.Time {
	return baseTime.Add(time.Duration(sd.r.IntN(600*24)) * time.Hour).Add(time.Duration(sd.r.IntN(3600)) * time.Second)
}

// row creates a record with audit columns set and stores it.
func (sd *seeder) row(table string, set func(r *Record, def *TableDef)) *Record {
	td := sd.e.tables[table]
	rec := newRecord(td.def, newGUID(sd.r))
	def := td.def
	created := sd.date()
	if def.Attr("createdon") != nil {
		rec.set(def, "createdon", created)
		rec.set(def, "modifiedon", created.Add(time.Duration(sd.r.IntN(90*24))*time.Hour))
		rec.set(def, "createdby", Ref{"systemuser", sd.admin})
		rec.set(def, "modifiedby", Ref{"systemuser", sd.admin})
	}
	if def.Attr("ownerid") != nil && len(sd.users) > 0 {
		if sd.r.IntN(5) == 0 && len(sd.teams) > 0 {
			rec.set(def, "ownerid", Ref{"team", sd.pick(sd.teams)})
		} else {
			rec.set(def, "ownerid", Ref{"systemuser", sd.pick(sd.users)})
		}
		rec.set(def, "owningbusinessunit", Ref{"businessunit", sd.bus[0]})
	}
	if def.Attr("statecode") != nil {
		rec.set(def, "statecode", int64(0))
		rec.set(def, "statuscode", def.Attr("statuscode").Options[0].Value)
	}
	if o := sd.e.s.opts; o.WideColumns > 0 && table == o.WideTable {
		n := len(sd.ids[table])
		for i := range o.WideColumns {
			rec.set(def, WideColumnName(i), WideValue(o.WideColumnSize, n, i))
		}
	}
	if set != nil {
		set(rec, def)
	}
	fitChoices(def, rec)
	sd.e.autoNumber(def, rec, created)
	sd.e.deriveColumns(def, rec)
	rec.Version = sd.e.nextVersion()
	rec.set(def, "versionnumber", rec.Version)
	sd.e.put(td, rec)
	sd.ids[table] = append(sd.ids[table], rec.ID)
	return rec
}

// fixedRow stores a row with a given id without drawing from the seed's
// random sequence, so adding it leaves every other seeded value unchanged.
func (sd *seeder) fixedRow(table, id string, set func(r *Record, def *TableDef)) {
	td := sd.e.tables[table]
	rec := newRecord(td.def, id)
	set(rec, td.def)
	rec.Version = sd.e.nextVersion()
	rec.set(td.def, "versionnumber", rec.Version)
	sd.e.put(td, rec)
	sd.ids[table] = append(sd.ids[table], id)
}

// sysAdminRoleName is the System Administrator role's display name: the
// second environment's organization runs in German, so an engine that finds
// the role by its English name fails there, as it would in the field
// (dataverse-reference.md section 11: check _roletemplateid_value).
func sysAdminRoleName(env string) string {
	if env == "second" {
		return "Systemadministrator"
	}
	return "System Administrator"
}

func (sd *seeder) associate(rel string, a, b string) {
	for _, n := range sd.e.s.schema.n2n {
		if n.SchemaName == rel {
			sd.row(n.IntersectEntity, func(r *Record, def *TableDef) {
				r.set(def, n.Entity1Attr, a)
				r.set(def, n.Entity2Attr, b)
			})
		}
	}
}

func (e *Env) seed() {
	sd := &seeder{e: e, r: rand.New(rand.NewPCG(uint64(e.s.opts.Seed)+7, e.spec.seedSalt*31)), sysAdm: map[string]string{}, ids: map[string][]string{}}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.created = baseTime
	r := sd.r
	sd.row("organization", func(rec *Record, def *TableDef) {
		rec.ID = e.OrgID
		rec.set(def, "name", e.spec.uniqueName)
		rec.set(def, "expirechangetrackingindays", int64(e.s.opts.ChangeTrackingExpiry/(24*time.Hour)))
		rec.set(def, "maxuploadfilesize", int64(5*1024*1024))
	})
	root := sd.row("businessunit", func(rec *Record, def *TableDef) { rec.set(def, "name", e.spec.uniqueName) })
	sd.bus = append(sd.bus, root.ID)
	for _, n := range []string{"Sales", "Service"} {
		bu := sd.row("businessunit", func(rec *Record, def *TableDef) {
			rec.set(def, "name", n)
			rec.set(def, "parentbusinessunitid", Ref{"businessunit", root.ID})
		})
		sd.bus = append(sd.bus, bu.ID)
	}
	for i, c := range [][3]string{{"US Dollar", "USD", "$"}, {"Euro", "EUR", "€"}} {
		cur := sd.row("transactioncurrency", func(rec *Record, def *TableDef) {
			rec.set(def, "currencyname", c[0])
			rec.set(def, "isocurrencycode", c[1])
			rec.set(def, "currencysymbol", c[2])
			rec.set(def, "exchangerate", []float64{1.0, 0.8}[i]) // USD is the base currency
		})
		sd.cur = append(sd.cur, cur.ID)
	}
	// Every business unit has its copy of each role, pointing at the role's
	// template (role.md: roletemplateid is a lookup to roletemplate).
	salesTemplate := ""
	for _, bu := range sd.bus {
		role := sd.row("role", func(rec *Record, def *TableDef) {
			rec.set(def, "name", sysAdminRoleName(e.spec.name))
			rec.set(def, "roletemplateid", Ref{"roletemplate", SysAdminRoleTemplate})
			rec.set(def, "businessunitid", Ref{"businessunit", bu})
		})
		sd.sysAdm[bu] = role.ID
		sd.row("role", func(rec *Record, def *TableDef) {
			if tpl := newGUID(r); salesTemplate == "" {
				salesTemplate = tpl
			}
			rec.set(def, "name", "Salesperson")
			rec.set(def, "roletemplateid", Ref{"roletemplate", salesTemplate})
			rec.set(def, "businessunitid", Ref{"businessunit", bu})
		})
	}
	sd.fixedRow("roletemplate", SysAdminRoleTemplate, func(rec *Record, def *TableDef) { rec.set(def, "name", "System Administrator") })
	sd.fixedRow("roletemplate", salesTemplate, func(rec *Record, def *TableDef) { rec.set(def, "name", "Salesperson") })
	user := func(full, domain, aadOID, appID string, access int64, disabled bool) string {
		rec := sd.row("systemuser", func(rec *Record, def *TableDef) {
			rec.set(def, "fullname", full)
			rec.set(def, "domainname", domain)
			rec.set(def, "internalemailaddress", domain)
			rec.set(def, "isdisabled", disabled)
			rec.set(def, "accessmode", access)
			rec.set(def, "businessunitid", Ref{"businessunit", root.ID})
			if aadOID != "" {
				rec.set(def, "azureactivedirectoryobjectid", aadOID)
			}
			if appID != "" {
				rec.set(def, "applicationid", appID)
			}
		})
		return rec.ID
	}
	sd.admin = user("System", "system@"+e.s.dir.domain, "", "", 1, false)
	for _, a := range e.s.dir.apps {
		if a.NoAppUser {
			continue
		}
		id := user("# "+a.Name, a.ClientID+"@"+e.s.dir.domain, a.ObjectID, a.ClientID, 4, a.DisabledAppUser)
		if !a.NoRoles {
			sd.associate("systemuserroles_association", id, sd.sysAdm[root.ID])
		}
	}
	for _, u := range e.s.dir.users {
		id := user(u.DisplayName, u.Username, u.ObjectID, "", 0, false)
		if u.SystemAdministrator {
			sd.associate("systemuserroles_association", id, sd.sysAdm[root.ID])
		}
	}
	for i := 0; i < 8; i++ {
		f, l := sd.pick(firstNames), sd.pick(lastNames)
		id := user(f+" "+l, fmt.Sprintf("%s.%s%d@%s", f, l, i, e.s.dir.domain), newGUID(r), "", 0, i == 7)
		sd.users = append(sd.users, id)
	}
	for i, bu := range sd.bus {
		t := sd.row("team", func(rec *Record, def *TableDef) {
			rec.set(def, "name", fmt.Sprintf("Team %s %d", words[i], i))
			rec.set(def, "teamtype", int64(1))
			rec.set(def, "businessunitid", Ref{"businessunit", bu})
		})
		sd.teams = append(sd.teams, t.ID)
		sd.associate("teammembership_association", sd.users[i], t.ID)
	}
	e.seedBusiness(sd)
}

func (e *Env) tableCount(table string, frac float64) int {
	if n, ok := e.spec.counts[table]; ok {
		return n
	}
	return int(float64(e.spec.records) * frac)
}

func (e *Env) seedBusiness(sd *seeder) {
	r := sd.r
	nAcc, nCon := e.tableCount("account", 0.3), e.tableCount("contact", 0.3)
	accIDs := make([]string, 0, nAcc)
	for i := 0; i < nAcc; i++ {
		rec := sd.row("account", func(rec *Record, def *TableDef) {
			w := sd.pick(words)
			rec.set(def, "name", fmt.Sprintf("%s %s %d", w, sd.pick(suffixes), i))
			rec.set(def, "accountnumber", fmt.Sprintf("AC-%06d", i))
			rec.set(def, "telephone1", fmt.Sprintf("+1 555 %04d", r.IntN(10000)))
			rec.set(def, "telephone2", fmt.Sprintf("+1 555 %04d", r.IntN(10000)))
			rec.set(def, "fax", fmt.Sprintf("+1 555 %04d", r.IntN(10000)))
			rec.set(def, "emailaddress1", fmt.Sprintf("info%d@%s.example", i, w))
			rec.set(def, "websiteurl", "https://"+w+".example")
			rec.set(def, "address1_line1", fmt.Sprintf("%d %s Street", 1+r.IntN(400), sd.pick(words)))
			rec.set(def, "address1_city", sd.pick(cities))
			rec.set(def, "address1_stateorprovince", "ST")
			rec.set(def, "address1_postalcode", fmt.Sprintf("%05d", r.IntN(100000)))
			rec.set(def, "address1_country", "Country")
			rec.set(def, "description", "Seeded account \"quoted\" and\nmultiline")
			rec.set(def, "industrycode", int64(1+r.IntN(8)))
			rec.set(def, "accountcategorycode", int64(1+r.IntN(2)))
			rec.set(def, "customertypecode", int64(1+r.IntN(5)))
			rec.set(def, "revenue", float64(r.IntN(10000000))/100)
			rec.set(def, "creditlimit", float64(r.IntN(100000)))
			rec.set(def, "transactioncurrencyid", Ref{"transactioncurrency", sd.pick(sd.cur)})
			rec.set(def, "exchangerate", 1.0)
			rec.set(def, "numberofemployees", int64(r.IntN(5000)))
			rec.set(def, "creditonhold", r.IntN(4) == 0)
			rec.set(def, "donotemail", r.IntN(3) == 0)
			rec.set(def, "lastusedincampaign", sd.date())
			rec.set(def, "cr1_regions", fmt.Sprintf("%d,%d", 1+r.IntN(2), 3+r.IntN(3)))
			if len(accIDs) > 0 && r.IntN(4) == 0 {
				rec.set(def, "parentaccountid", Ref{"account", accIDs[r.IntN(len(accIDs))]})
			}
		})
		accIDs = append(accIDs, rec.ID)
	}
	conIDs := make([]string, 0, nCon)
	for i := 0; i < nCon; i++ {
		rec := sd.row("contact", func(rec *Record, def *TableDef) {
			f, l := sd.pick(firstNames), sd.pick(lastNames)
			rec.set(def, "firstname", f)
			rec.set(def, "lastname", l)
			rec.set(def, "fullname", f+" "+l)
			rec.set(def, "emailaddress1", fmt.Sprintf("%s.%s%d@example.com", f, l, i))
			rec.set(def, "telephone1", fmt.Sprintf("+44 20 %04d", r.IntN(10000)))
			rec.set(def, "jobtitle", sd.pick([]string{"CEO", "Buyer", "Engineer", "Manager"}))
			rec.set(def, "birthdate", baseTime.AddDate(-20-r.IntN(40), 0, r.IntN(365)).Truncate(24*time.Hour))
			rec.set(def, "gendercode", int64(1+r.IntN(2)))
			rec.set(def, "annualincome", float64(r.IntN(200000)))
			rec.set(def, "transactioncurrencyid", Ref{"transactioncurrency", sd.cur[0]})
			rec.set(def, "donotphone", r.IntN(2) == 0)
			if len(accIDs) > 0 && r.IntN(5) != 0 {
				rec.set(def, "parentcustomerid", Ref{"account", accIDs[r.IntN(len(accIDs))]})
			}
		})
		conIDs = append(conIDs, rec.ID)
	}
	// The cycle: accounts point at contacts that point back at accounts.
	if len(conIDs) > 0 {
		td := e.tables["account"]
		for i, id := range accIDs {
			if i%2 == 0 {
				td.recs[id].set(td.def, "primarycontactid", Ref{"contact", conIDs[r.IntN(len(conIDs))]})
			}
		}
	}
	for i, n := 0, e.tableCount("opportunity", 0.1); i < n; i++ {
		sd.row("opportunity", func(rec *Record, def *TableDef) {
			rec.set(def, "name", fmt.Sprintf("Deal %s %d", sd.pick(words), i))
			if len(accIDs) > 0 && (r.IntN(3) != 0 || len(conIDs) == 0) {
				rec.set(def, "customerid", Ref{"account", sd.pick(accIDs)})
				rec.set(def, "parentaccountid", rec.get(def, "customerid"))
			} else if len(conIDs) > 0 {
				rec.set(def, "customerid", Ref{"contact", sd.pick(conIDs)})
			}
			rec.set(def, "estimatedvalue", float64(r.IntN(1000000)))
			rec.set(def, "transactioncurrencyid", Ref{"transactioncurrency", sd.pick(sd.cur)})
			rec.set(def, "estimatedclosedate", sd.date().Truncate(24*time.Hour))
			rec.set(def, "closeprobability", int64(r.IntN(101)))
			rec.set(def, "opportunityratingcode", int64(1+r.IntN(3)))
			rec.set(def, "description", "Opportunity notes")
		})
	}
	for i, n := 0, e.tableCount("lead", 0.1); i < n; i++ {
		sd.row("lead", func(rec *Record, def *TableDef) {
			f, l := sd.pick(firstNames), sd.pick(lastNames)
			rec.set(def, "firstname", f)
			rec.set(def, "lastname", l)
			rec.set(def, "fullname", f+" "+l)
			rec.set(def, "subject", "Interested in "+sd.pick(words))
			rec.set(def, "companyname", sd.pick(words)+" "+sd.pick(suffixes))
			rec.set(def, "emailaddress1", fmt.Sprintf("lead%d@example.org", i))
			rec.set(def, "leadsourcecode", int64(1+r.IntN(5)))
			rec.set(def, "budgetamount", float64(r.IntN(50000)))
			rec.set(def, "transactioncurrencyid", Ref{"transactioncurrency", sd.cur[0]})
		})
	}
	regarding := func() any {
		switch k := r.IntN(3); {
		case k == 0 && len(accIDs) > 0:
			return Ref{"account", sd.pick(accIDs)}
		case k == 1 && len(conIDs) > 0:
			return Ref{"contact", sd.pick(conIDs)}
		case len(sd.ids["opportunity"]) > 0:
			return Ref{"opportunity", sd.pick(sd.ids["opportunity"])}
		}
		return nil
	}
	for i, n := 0, e.tableCount("task", 0.1); i < n; i++ {
		sd.row("task", func(rec *Record, def *TableDef) {
			rec.set(def, "subject", fmt.Sprintf("Follow up %d", i))
			rec.set(def, "description", "Call back about "+sd.pick(words))
			rec.set(def, "scheduledend", sd.date())
			rec.set(def, "prioritycode", int64(1+r.IntN(3)))
			rec.set(def, "percentcomplete", int64(r.IntN(101)))
			rec.set(def, "regardingobjectid", regarding())
		})
	}
	nProj := e.tableCount("cr1_project", 0.05)
	for i := 0; i < nProj; i++ {
		sd.row("cr1_project", func(rec *Record, def *TableDef) {
			rec.set(def, "cr1_name", fmt.Sprintf("Project %s %d", sd.pick(words), i))
			if len(accIDs) > 0 {
				rec.set(def, "cr1_accountid", Ref{"account", sd.pick(accIDs)})
			}
			rec.set(def, "cr1_budget", float64(r.IntN(500000)))
			rec.set(def, "transactioncurrencyid", Ref{"transactioncurrency", sd.cur[0]})
			rec.set(def, "cr1_startdate", sd.date())
			rec.set(def, "cr1_tags", fmt.Sprintf("%d", 1+r.IntN(4)))
			rec.set(def, "cr1_phase", int64(1+r.IntN(3)))
			if i%4 == 0 {
				size := 20000 + r.IntN(200000)
				if i == 0 {
					size = 300000
				}
				rec.set(def, "cr1_document", e.storeFile(fmt.Sprintf("spec-%d.pdf", i), "application/pdf", pseudoBytes(r, size)))
				rec.set(def, "cr1_document_name", fmt.Sprintf("spec-%d.pdf", i))
			}
			if i%3 == 0 {
				rec.set(def, "cr1_imageid", e.storeFile(fmt.Sprintf("logo-%d.png", i), "image/png", pseudoBytes(r, 4000+r.IntN(8000))))
			}
		})
		if len(accIDs) > 0 {
			sd.associate("cr1_account_cr1_project", sd.pick(accIDs), sd.ids["cr1_project"][i])
		}
	}
	for i, n := 0, e.tableCount("annotation", 0.05); i < n; i++ {
		sd.row("annotation", func(rec *Record, def *TableDef) {
			rec.set(def, "subject", fmt.Sprintf("Note %d", i))
			rec.set(def, "notetext", "Attached file for "+sd.pick(words))
			if ref, ok := regarding().(Ref); ok {
				rec.set(def, "objectid", ref)
				rec.set(def, "objecttypecode", ref.Table)
			}
			if i%2 == 0 {
				data := pseudoBytes(r, 500+r.IntN(3000))
				rec.set(def, "isdocument", true)
				rec.set(def, "filename", fmt.Sprintf("attachment-%d.txt", i))
				rec.set(def, "mimetype", "text/plain")
				rec.set(def, "filesize", int64(len(data)))
				rec.set(def, "documentbody", base64.StdEncoding.EncodeToString(data))
			} else {
				rec.set(def, "isdocument", false)
			}
		})
	}
	e.seedOrg(sd, accIDs, conIDs) // seed_org.go
}

// WideValue is the deterministic size-character text seeded in wide column
// col of the row-th row of Options.WideTable (exported so benchmarks can
// write the same shape through Create/Update).
func WideValue(size, row, col int) string {
	if size <= 0 {
		return ""
	}
	base := fmt.Sprintf("row %d col %d: lorem ipsum dolor sit amet, \"wide\" value. ", row, col+1)
	return strings.Repeat(base, size/len(base)+1)[:size]
}

// pseudoBytes makes deterministic content.
func pseudoBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// fitChoices keeps a seeded choice inside its column's options: the seed
// picks values for the small organization's choices, and a standard
// organization's column may number its options from 0 (task.prioritycode:
// 0 Low, 1 Normal, 2 High on task.md) where the small one starts at 1.
func fitChoices(def *TableDef, rec *Record) {
	for _, a := range def.Attrs {
		if a.Type != TPicklist || len(a.Options) == 0 {
			continue
		}
		v, ok := rec.Vals[a.idx].(int64)
		if !ok || a.optionLabel(v) != "" {
			continue
		}
		rec.Vals[a.idx] = a.Options[int(v)%len(a.Options)].Value
	}
}
