package dataversesim

import (
	"fmt"
	"time"
)

// Seeding of the organization's sales, service and activity records (issue
// 13 part 1 item 4): opportunities won and lost with their close records,
// cases resolved and canceled with their resolutions, emails, appointments,
// phone calls, letters and faxes with their parties, quotes with lines
// (won ones with a quoteclose), orders and invoices with lines. It runs after
// everything else is seeded and draws from the same deterministic sequence,
// so the older tables keep their values and counts.
//
// One account, the anchor, gets the full set a restore must bring back after
// its delete: contacts (Cascade), a child account (RemoveLink), a won
// opportunity, a resolved case, emails with parties and an appointment.
// Orders and invoices belong to accounts without contacts: their customer
// relationships are Restrict, and the demo deletes accounts with contacts.

// orgSeed carries what seedOrg has made so far.
type orgSeed struct {
	*seeder
	accounts, contacts []string
	anchor             string // "" when no account fits
	anchorContacts     []string
	quiet              []string // accounts without contacts
}

func (e *Env) seedOrg(sd *seeder, accIDs, conIDs []string) {
	o := &orgSeed{seeder: sd, accounts: accIDs, contacts: conIDs}
	o.findAnchor()
	o.closeOpportunities()
	o.cases()
	o.activities()
	o.quotes()
	o.ordersAndInvoices()
}

func (o *orgSeed) get(table, id, col string) any {
	t := o.e.tables[table]
	if rec := t.recs[id]; rec != nil {
		return rec.get(t.def, col)
	}
	return nil
}

// update changes a seeded row in place, with a new version.
func (o *orgSeed) update(table, id string, set func(r *Record, def *TableDef)) {
	t := o.e.tables[table]
	rec := t.recs[id].clone()
	set(rec, t.def)
	rec.Version = o.e.nextVersion()
	rec.set(t.def, "versionnumber", rec.Version)
	o.e.put(t, rec)
}

func (o *orgSeed) findAnchor() {
	contactsOf, hasChild := map[string][]string{}, map[string]bool{}
	for _, c := range o.contacts {
		if ref, ok := o.get("contact", c, "parentcustomerid").(Ref); ok && ref.Table == "account" {
			contactsOf[ref.ID] = append(contactsOf[ref.ID], c)
		}
	}
	for _, a := range o.accounts {
		if ref, ok := o.get("account", a, "parentaccountid").(Ref); ok {
			hasChild[ref.ID] = true
		}
	}
	for _, a := range o.accounts {
		if len(contactsOf[a]) == 0 {
			o.quiet = append(o.quiet, a)
		} else if o.anchor == "" && hasChild[a] {
			o.anchor, o.anchorContacts = a, contactsOf[a]
		}
	}
}

// customer picks an account (two in three) or a contact.
func (o *orgSeed) customer() any {
	if len(o.accounts) > 0 && (o.r.IntN(3) != 0 || len(o.contacts) == 0) {
		return Ref{"account", o.pick(o.accounts)}
	}
	if len(o.contacts) > 0 {
		return Ref{"contact", o.pick(o.contacts)}
	}
	return nil
}

// closeRecord adds a completed close activity for a record.
func (o *orgSeed) closeRecord(table, subject, lookup string, parent Ref, at time.Time, set func(r *Record, def *TableDef)) {
	o.row(table, func(r *Record, def *TableDef) {
		r.set(def, "subject", subject)
		r.set(def, lookup, parent)
		r.set(def, "actualend", at)
		r.set(def, "activitytypecode", table)
		r.set(def, "statecode", int64(1))
		r.set(def, "statuscode", int64(2))
		if set != nil {
			set(r, def)
		}
	})
}

// closeOpportunities wins one opportunity in five and loses another, each
// with its opportunityclose; the anchor gets a won one.
func (o *orgSeed) closeOpportunities() {
	opps := o.ids["opportunity"]
	anchorWon := o.anchor == ""
	for i, id := range opps {
		won, lost := i%5 == 1, i%5 == 3
		if !anchorWon && (won || i == len(opps)-1) {
			won, lost, anchorWon = true, false, true
			o.update("opportunity", id, func(r *Record, def *TableDef) {
				r.set(def, "customerid", Ref{"account", o.anchor})
				r.set(def, "parentaccountid", Ref{"account", o.anchor})
			})
		}
		if !won && !lost {
			continue
		}
		at := o.date()
		value, _ := o.get("opportunity", id, "estimatedvalue").(float64)
		name, _ := o.get("opportunity", id, "name").(string)
		status := int64(3)
		if lost {
			status = 4 + int64(o.r.IntN(2))
		}
		o.closeRecord("opportunityclose", map[bool]string{true: "Won: ", false: "Lost: "}[won]+name, "opportunityid", Ref{"opportunity", id}, at, func(r *Record, def *TableDef) {
			if won {
				r.set(def, "actualrevenue", value)
			}
			r.set(def, "transactioncurrencyid", o.get("opportunity", id, "transactioncurrencyid"))
		})
		o.update("opportunity", id, func(r *Record, def *TableDef) {
			r.set(def, "statecode", map[bool]int64{true: 1, false: 2}[won])
			r.set(def, "statuscode", status)
			r.set(def, "actualclosedate", at.Truncate(24*time.Hour))
			if won {
				r.set(def, "actualvalue", value)
			}
		})
	}
}

// cases: one in three resolved (CloseIncident's result: an incidentresolution
// and Problem Solved), one in seven canceled; the anchor's first is resolved.
func (o *orgSeed) cases() {
	for i, n := 0, o.e.tableCount("incident", 0.04); i < n; i++ {
		resolved, canceled := i%3 == 0, i%7 == 5
		rec := o.row("incident", func(r *Record, def *TableDef) {
			r.set(def, "title", fmt.Sprintf("Case %d: %s not working", i, o.pick(words)))
			r.set(def, "ticketnumber", fmt.Sprintf("CAS-%05d-%s", 1000+i, o.pick(words)[:3]))
			r.set(def, "description", "Customer reported a problem with "+o.pick(words))
			if i == 0 && o.anchor != "" {
				r.set(def, "customerid", Ref{"account", o.anchor})
				if len(o.anchorContacts) > 0 {
					r.set(def, "primarycontactid", Ref{"contact", o.anchorContacts[0]})
				}
			} else {
				r.set(def, "customerid", o.customer())
			}
			r.set(def, "caseorigincode", int64(1+o.r.IntN(3)))
			r.set(def, "casetypecode", int64(1+o.r.IntN(3)))
			r.set(def, "prioritycode", int64(1+o.r.IntN(3)))
			switch {
			case resolved:
				r.set(def, "statecode", int64(1))
				r.set(def, "statuscode", []int64{5, 1000}[o.r.IntN(2)])
			case canceled:
				r.set(def, "statecode", int64(2))
				r.set(def, "statuscode", int64(6))
			}
		})
		if resolved {
			o.closeRecord("incidentresolution", "Resolved: "+rec.get(o.e.tables["incident"].def, "title").(string), "incidentid", Ref{"incident", rec.ID}, o.date(),
				func(r *Record, def *TableDef) { r.set(def, "timespent", int64(15*(1+o.r.IntN(8)))) })
		}
	}
}

// party adds one activityparty row; ref nil leaves it unresolved (address only).
func (o *orgSeed) party(activity, id string, mask int64, ref *Ref, addr string) {
	o.row("activityparty", func(r *Record, def *TableDef) {
		r.set(def, "activityid", Ref{activity, id})
		r.set(def, "participationtypemask", mask)
		r.set(def, "ispartydeleted", false)
		if ref != nil {
			r.set(def, "partyid", *ref)
			r.set(def, "partyobjecttypecode", ref.Table)
			t := o.e.tables[ref.Table]
			r.set(def, "partyidname", t.recs[ref.ID].get(t.def, t.def.PrimaryName))
			if addr == "" && activity == "email" {
				addr, _ = t.recs[ref.ID].get(t.def, emailColumn[ref.Table]).(string)
			}
		}
		if addr != "" {
			r.set(def, "addressused", addr)
		}
	})
}

// someone is a resolved party: a contact (or an account), or nil for an
// address nothing in the organization matches (one in five).
func (o *orgSeed) someone() *Ref {
	switch {
	case o.r.IntN(5) == 0:
		return nil
	case len(o.contacts) > 0 && o.r.IntN(3) != 0:
		return &Ref{"contact", o.pick(o.contacts)}
	case len(o.accounts) > 0:
		return &Ref{"account", o.pick(o.accounts)}
	}
	return nil
}

func (o *orgSeed) regarding(i int) any {
	if i == 0 && o.anchor != "" {
		return Ref{"account", o.anchor}
	}
	switch k := o.r.IntN(3); {
	case k == 0 && len(o.accounts) > 0:
		return Ref{"account", o.pick(o.accounts)}
	case k == 1 && len(o.contacts) > 0:
		return Ref{"contact", o.pick(o.contacts)}
	case len(o.ids["opportunity"]) > 0:
		return Ref{"opportunity", o.pick(o.ids["opportunity"])}
	}
	return nil
}

// activity adds an activity with its parties: masks[0] is the user's role
// (sender or organizer), the others go to someone().
func (o *orgSeed) activity(table string, i int, subject string, masks []int64, set func(r *Record, def *TableDef)) {
	rec := o.row(table, func(r *Record, def *TableDef) {
		r.set(def, "subject", subject)
		r.set(def, "description", "About "+o.pick(words))
		r.set(def, "regardingobjectid", o.regarding(i))
		r.set(def, "activitytypecode", table)
		r.set(def, "prioritycode", int64(o.r.IntN(3)))
		start := o.date()
		r.set(def, "scheduledstart", start)
		r.set(def, "scheduledend", start.Add(time.Hour))
		set(r, def)
	})
	user := Ref{"systemuser", o.pick(o.users)}
	o.party(table, rec.ID, masks[0], &user, "")
	for j, m := range masks[1:] {
		who := o.someone()
		if i == 0 && j == 0 && o.anchor != "" && len(o.anchorContacts) > 0 {
			who = &Ref{"contact", o.anchorContacts[0]}
		}
		addr := ""
		if who == nil {
			addr = fmt.Sprintf("%s.%d@partner.example", o.pick(firstNames), o.r.IntN(1000))
		}
		o.party(table, rec.ID, m, who, addr)
	}
}

func (o *orgSeed) activities() {
	if len(o.users) == 0 {
		return
	}
	for i, n := 0, o.e.tableCount("email", 0.05); i < n; i++ {
		masks := []int64{1, 2}
		if i%3 == 0 {
			masks = append(masks, 3)
		}
		o.activity("email", i, fmt.Sprintf("Re: %s proposal %d", o.pick(words), i), masks, func(r *Record, def *TableDef) {
			r.set(def, "directioncode", true)
			if i%2 == 0 { // sent with SendEmail
				r.set(def, "statecode", int64(1))
				r.set(def, "statuscode", int64(3))
				r.set(def, "actualend", o.date())
			}
		})
	}
	for i, n := 0, o.e.tableCount("appointment", 0.03); i < n; i++ {
		o.activity("appointment", i, fmt.Sprintf("Meeting %d at %s", i, o.pick(cities)), []int64{7, 5, 6}, func(r *Record, def *TableDef) {
			r.set(def, "location", o.pick(cities))
			if i%4 == 3 {
				r.set(def, "statecode", int64(1))
				r.set(def, "statuscode", int64(3))
			} else {
				r.set(def, "statecode", int64(3))
				r.set(def, "statuscode", int64(5))
			}
		})
	}
	for i, n := 0, o.e.tableCount("phonecall", 0.02); i < n; i++ {
		o.activity("phonecall", i+1, fmt.Sprintf("Call %d", i), []int64{1, 2}, func(r *Record, def *TableDef) {
			r.set(def, "phonenumber", fmt.Sprintf("+1 555 %04d", o.r.IntN(10000)))
			r.set(def, "directioncode", true)
			if i%2 == 0 {
				r.set(def, "statecode", int64(1))
				r.set(def, "statuscode", int64(2))
			}
		})
	}
	for i, n := 0, o.e.tableCount("letter", 0.01); i < n; i++ {
		o.activity("letter", i+1, fmt.Sprintf("Letter %d", i), []int64{1, 2}, func(r *Record, def *TableDef) {
			r.set(def, "statuscode", int64(2)) // Draft, the default of Open
			r.set(def, "address", fmt.Sprintf("%d %s Street\n%s", 1+o.r.IntN(400), o.pick(words), o.pick(cities)))
		})
	}
	for i, n := 0, o.e.tableCount("fax", 0.01); i < n; i++ {
		o.activity("fax", i+1, fmt.Sprintf("Fax %d", i), []int64{1, 2}, func(r *Record, def *TableDef) {
			r.set(def, "faxnumber", fmt.Sprintf("+1 555 %04d", o.r.IntN(10000)))
			r.set(def, "numberofpages", int64(1+o.r.IntN(9)))
		})
	}
}

// lines adds 1-3 write-in product lines and returns their total.
func (o *orgSeed) lines(table, parent string, parentID string, cur any) float64 {
	total := 0.0
	for k, n := 0, 1+o.r.IntN(3); k < n; k++ {
		q, p := float64(1+o.r.IntN(20)), float64(10*(1+o.r.IntN(500)))
		o.row(table, func(r *Record, def *TableDef) {
			r.set(def, parent+"id", Ref{parent, parentID})
			r.set(def, "productdescription", fmt.Sprintf("%s service package", o.pick(words)))
			r.set(def, "isproductoverridden", true)
			r.set(def, "ispriceoverridden", true)
			r.set(def, "quantity", q)
			r.set(def, "priceperunit", p)
			r.set(def, "extendedamount", q*p)
			r.set(def, "transactioncurrencyid", cur)
			r.set(def, "lineitemnumber", int64(k+1))
		})
		total += q * p
	}
	return total
}

// quotes: draft, active, won (with a quoteclose) and lost ones, with lines.
func (o *orgSeed) quotes() {
	for i, n := 0, o.e.tableCount("quote", 0.02); i < n; i++ {
		cur := Ref{"transactioncurrency", o.pick(o.cur)}
		rec := o.row("quote", func(r *Record, def *TableDef) {
			r.set(def, "name", fmt.Sprintf("Quote %s %d", o.pick(words), i))
			r.set(def, "quotenumber", fmt.Sprintf("QUO-%05d", 1000+i))
			r.set(def, "customerid", o.customer())
			if opps := o.ids["opportunity"]; len(opps) > 0 && i%2 == 0 {
				r.set(def, "opportunityid", Ref{"opportunity", o.pick(opps)})
			}
			r.set(def, "transactioncurrencyid", cur)
			from := o.date()
			r.set(def, "effectivefrom", from)
			r.set(def, "effectiveto", from.AddDate(0, 1, 0))
		})
		total := o.lines("quotedetail", "quote", rec.ID, cur)
		st := [][2]int64{{0, 1}, {1, 2}, {2, 4}, {3, 5}}[i%4] // draft, active, won, lost
		state, status := st[0], st[1]
		if state >= 2 {
			name, _ := o.get("quote", rec.ID, "name").(string)
			o.closeRecord("quoteclose", map[bool]string{true: "Won: ", false: "Lost: "}[state == 2]+name, "quoteid", Ref{"quote", rec.ID}, o.date(), nil)
		}
		o.update("quote", rec.ID, func(r *Record, def *TableDef) {
			r.set(def, "totalamount", total)
			r.set(def, "statecode", state)
			r.set(def, "statuscode", status)
		})
	}
}

// ordersAndInvoices: orders (active, fulfilled with an orderclose, canceled)
// and invoices (active or paid), with lines, for accounts without contacts.
func (o *orgSeed) ordersAndInvoices() {
	if len(o.quiet) == 0 {
		return
	}
	var fulfilled []Ref
	for i, n := 0, o.e.tableCount("salesorder", 0.01); i < n; i++ {
		cur := Ref{"transactioncurrency", o.pick(o.cur)}
		cust := o.pick(o.quiet)
		rec := o.row("salesorder", func(r *Record, def *TableDef) {
			r.set(def, "name", fmt.Sprintf("Order %s %d", o.pick(words), i))
			r.set(def, "ordernumber", fmt.Sprintf("ORD-%05d", 1000+i))
			r.set(def, "customerid", Ref{"account", cust})
			r.set(def, "transactioncurrencyid", cur)
		})
		total := o.lines("salesorderdetail", "salesorder", rec.ID, cur)
		state, status := int64(0), int64(1)
		switch i % 3 {
		case 1:
			state, status = 3, 100001
			name, _ := o.get("salesorder", rec.ID, "name").(string)
			o.closeRecord("orderclose", "Fulfilled: "+name, "salesorderid", Ref{"salesorder", rec.ID}, o.date(), nil)
			fulfilled = append(fulfilled, Ref{"account", cust}, Ref{"salesorder", rec.ID})
		case 2:
			state, status = 2, 4
			name, _ := o.get("salesorder", rec.ID, "name").(string)
			o.closeRecord("orderclose", "Canceled: "+name, "salesorderid", Ref{"salesorder", rec.ID}, o.date(), nil)
		}
		o.update("salesorder", rec.ID, func(r *Record, def *TableDef) {
			r.set(def, "totalamount", total)
			r.set(def, "statecode", state)
			r.set(def, "statuscode", status)
		})
	}
	for i, n := 0, o.e.tableCount("invoice", 0.01); i < n; i++ {
		cur := Ref{"transactioncurrency", o.pick(o.cur)}
		rec := o.row("invoice", func(r *Record, def *TableDef) {
			r.set(def, "name", fmt.Sprintf("Invoice %d", i))
			r.set(def, "invoicenumber", fmt.Sprintf("INV-%05d", 1000+i))
			if 2*i+1 < len(fulfilled) {
				r.set(def, "customerid", fulfilled[2*i])
				r.set(def, "salesorderid", fulfilled[2*i+1])
			} else {
				r.set(def, "customerid", Ref{"account", o.pick(o.quiet)})
			}
			r.set(def, "transactioncurrencyid", cur)
			r.set(def, "datedelivered", o.date())
		})
		total := o.lines("invoicedetail", "invoice", rec.ID, cur)
		o.update("invoice", rec.ID, func(r *Record, def *TableDef) {
			r.set(def, "totalamount", total)
			if i%2 == 1 {
				r.set(def, "statecode", int64(2))
				r.set(def, "statuscode", int64(100001))
			}
		})
	}
}
