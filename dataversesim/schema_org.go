package dataversesim

// The tables a real organization's restore meets beyond the demo's core:
// service (incident and its resolution), sales (quote, order, invoice, their
// lines and close activities, opportunity close), the activities that carry
// parties (email, appointment, phone call, letter, fax) with activityparty,
// and roletemplate (the target of role.roletemplateid). Column sets are the
// ones a restore has to get right, taken from the table reference pages
// (powerapps-docs, developer/data-platform/reference/entities/<table>.md;
// the sales and service tables from dynamics-365-customer-engagement,
// ce/developer/entities/<table>.md): status options, lookups and their
// targets, and which columns are read-only. Loading the full pages
// (schemadata/tables/*.json) replaces these definitions later; the
// behaviour in cascade.go, statemessages.go and activityparty.go reads the
// schema, not these literals.

// choice is a picklist with explicit option values (pick numbers from 1).
func choice(n string, opts ...Option) *AttrDef {
	return &AttrDef{Name: n, Type: TPicklist, Options: opts}
}

// status builds statecode/statuscode from the reference page's tables:
// states in value order, statuses as (value, label, state). The first status
// of each state is its default (the page's DefaultStatus), so list it first.
func status(states []string, statuses ...Option) []*AttrDef { return stateStatus(states, statuses) }

// partyActivities are the activity tables whose parties are activityparty
// rows read and written through <table>_activity_parties (activityparty.md,
// Many-To-One relationships).
var partyActivities = []string{"email", "appointment", "phonecall", "letter", "fax"}

// regardingTargets are the tables an activity of the demo can be regarding.
var regardingTargets = []string{"account", "contact", "opportunity", "lead", "incident", "quote", "salesorder", "invoice"}

// activityAttrs are the activitypointer columns every activity table has
// (activitypointer.md): prioritycode is 0 Low, 1 Normal, 2 High there.
func activityAttrs() []*AttrDef {
	return []*AttrDef{pk("activityid"), primary("subject"), memo("description"),
		lookup("regardingobjectid", regardingTargets...),
		date("scheduledstart"), date("scheduledend"), date("actualstart"), date("actualend"), integer("actualdurationminutes"),
		choice("prioritycode", Option{Value: 0, Label: "Low"}, Option{Value: 1, Label: "Normal"}, Option{Value: 2, Label: "High"}),
		ro(&AttrDef{Name: "activitytypecode", Type: TEntityName})}
}

// closeActivity is the shape of opportunityclose, quoteclose, orderclose and
// incidentresolution: an activity bound to the record it closes, Completed
// (statuscode 2) once the close message created it.
func closeActivity(name, set string, otc int, parent string, extra ...*AttrDef) *TableDef {
	attrs := cat([]*AttrDef{pk("activityid"), primary("subject"), memo("description"), lookup(parent+"id", parent), date("actualend"),
		ro(&AttrDef{Name: "activitytypecode", Type: TEntityName})}, extra,
		status([]string{"Open", "Completed", "Canceled"}, Option{1, "Open", 0}, Option{2, closedLabel(name), 1}, Option{3, "Canceled", 2}),
		audit(true))
	return &TableDef{LogicalName: name, SetName: set, PrimaryID: "activityid", PrimaryName: "subject", ObjectTypeCode: otc, Ownership: "UserOwned",
		ChangeTracking: true, IsActivity: true, StateName: schemaName(name) + "State", Attrs: attrs}
}

func closedLabel(table string) string {
	if table == "incidentresolution" || table == "quoteclose" || table == "orderclose" {
		return "Closed"
	}
	return "Completed"
}

// lineItem is quotedetail, salesorderdetail and invoicedetail: a write-in
// product line of its parent (productdescription, quantity, price).
func lineItem(name, set, pkName string, otc int, parent string) *TableDef {
	return &TableDef{LogicalName: name, SetName: set, PrimaryID: pkName, ObjectTypeCode: otc, Ownership: "UserOwned", ChangeTracking: true,
		Attrs: cat([]*AttrDef{pk(pkName), lookup(parent+"id", parent), str("productdescription"), boolean("isproductoverridden"), boolean("ispriceoverridden"),
			dec("quantity"), money("priceperunit"), ro(money("extendedamount")), lookup("transactioncurrencyid", "transactioncurrency"), integer("lineitemnumber")},
			audit(true))}
}

// addOrgTables adds the tables above to the hand-written schema.
func addOrgTables(s *schema) {
	s.add(&TableDef{LogicalName: "roletemplate", SetName: "roletemplates", PrimaryID: "roletemplateid", PrimaryName: "name", ObjectTypeCode: 1037, Ownership: "None",
		Attrs: []*AttrDef{pk("roletemplateid"), primary("name"), ro(&AttrDef{Name: "versionnumber", Type: TBigInt})}})

	// incident.md: statuscode 1000 Information Provided and 2000 Merged are
	// statuses of Resolved and Canceled; resolving is CloseIncident's.
	s.add(&TableDef{LogicalName: "incident", SetName: "incidents", PrimaryID: "incidentid", PrimaryName: "title", ObjectTypeCode: 112, Ownership: "UserOwned",
		ChangeTracking: true, HasNotes: true, StateName: "IncidentState",
		Attrs: cat([]*AttrDef{pk("incidentid"), primary("title"), str("ticketnumber"), memo("description"), lookup("customerid", "account", "contact"),
			lookup("primarycontactid", "contact"), pick("caseorigincode", "Phone", "Email", "Web"), pick("casetypecode", "Question", "Problem", "Request"),
			pick("prioritycode", "High", "Normal", "Low"), date("followupby"), lookup("transactioncurrencyid", "transactioncurrency")},
			status([]string{"Active", "Resolved", "Canceled"}, Option{1, "In Progress", 0}, Option{2, "On Hold", 0}, Option{3, "Waiting for Details", 0},
				Option{4, "Researching", 0}, Option{5, "Problem Solved", 1}, Option{1000, "Information Provided", 1}, Option{6, "Canceled", 2}, Option{2000, "Merged", 2}),
			audit(true))})
	s.add(closeActivity("incidentresolution", "incidentresolutions", 4206, "incident", integer("timespent")))
	s.add(closeActivity("opportunityclose", "opportunitycloses", 4208, "opportunity", money("actualrevenue"), lookup("transactioncurrencyid", "transactioncurrency")))

	// quote.md: Draft -> Active (SetState) -> Won (WinQuote) or Closed (CloseQuote).
	s.add(&TableDef{LogicalName: "quote", SetName: "quotes", PrimaryID: "quoteid", PrimaryName: "name", ObjectTypeCode: 1084, Ownership: "UserOwned",
		ChangeTracking: true, HasNotes: true, StateName: "QuoteState",
		Attrs: cat([]*AttrDef{pk("quoteid"), primary("name"), str("quotenumber"), memo("description"), lookup("customerid", "account", "contact"),
			lookup("opportunityid", "opportunity"), date("effectivefrom"), date("effectiveto"), ro(money("totalamount")), lookup("transactioncurrencyid", "transactioncurrency")},
			status([]string{"Draft", "Active", "Won", "Closed"}, Option{1, "In Progress", 0}, Option{2, "In Progress", 1}, Option{3, "Open", 1},
				Option{4, "Won", 2}, Option{7, "Revised", 3}, Option{5, "Lost", 3}, Option{6, "Canceled", 3}),
			audit(true))})
	s.add(lineItem("quotedetail", "quotedetails", "quotedetailid", 1085, "quote"))
	s.add(closeActivity("quoteclose", "quotecloses", 4211, "quote"))

	// salesorder.md: Fulfilled by FulfillSalesOrder, Canceled by CancelSalesOrder.
	s.add(&TableDef{LogicalName: "salesorder", SetName: "salesorders", PrimaryID: "salesorderid", PrimaryName: "name", ObjectTypeCode: 1088, Ownership: "UserOwned",
		ChangeTracking: true, HasNotes: true, StateName: "SalesOrderState",
		Attrs: cat([]*AttrDef{pk("salesorderid"), primary("name"), str("ordernumber"), memo("description"), lookup("customerid", "account", "contact"),
			lookup("opportunityid", "opportunity"), lookup("quoteid", "quote"), date("datefulfilled"), ro(money("totalamount")), lookup("transactioncurrencyid", "transactioncurrency")},
			status([]string{"Active", "Submitted", "Canceled", "Fulfilled", "Invoiced"}, Option{1, "New", 0}, Option{2, "Pending", 0}, Option{3, "In Progress", 1},
				Option{4, "No Money", 2}, Option{100001, "Complete", 3}, Option{100002, "Partial", 3}, Option{100003, "Invoiced", 4}),
			audit(true))})
	s.add(lineItem("salesorderdetail", "salesorderdetails", "salesorderdetailid", 1089, "salesorder"))
	s.add(closeActivity("orderclose", "ordercloses", 4209, "salesorder"))

	// invoice.md: Paid and Canceled are set with SetState (no close message).
	s.add(&TableDef{LogicalName: "invoice", SetName: "invoices", PrimaryID: "invoiceid", PrimaryName: "name", ObjectTypeCode: 1090, Ownership: "UserOwned",
		ChangeTracking: true, HasNotes: true, StateName: "InvoiceState",
		Attrs: cat([]*AttrDef{pk("invoiceid"), primary("name"), str("invoicenumber"), memo("description"), lookup("customerid", "account", "contact"),
			lookup("salesorderid", "salesorder"), date("datedelivered"), ro(money("totalamount")), lookup("transactioncurrencyid", "transactioncurrency")},
			status([]string{"Active", "Closed (deprecated)", "Paid", "Canceled"}, Option{1, "New", 0}, Option{2, "Partially Shipped", 0}, Option{4, "Billed", 0},
				Option{5, "Booked (applies to services)", 0}, Option{6, "Installed (applies to services)", 0}, Option{3, "Canceled (deprecated)", 1},
				Option{7, "Paid in Full (deprecated)", 1}, Option{100001, "Complete", 2}, Option{100002, "Partial", 2}, Option{100003, "Canceled", 3}),
			audit(true))})
	s.add(lineItem("invoicedetail", "invoicedetails", "invoicedetailid", 1091, "invoice"))

	// The activities with parties. Their from/to/cc/bcc/requiredattendees/
	// optionalattendees/organizer PartyList columns are not Web API
	// properties; the parties are activityparty rows (activityparty.go).
	activity := func(name, set string, otc int, states []string, statuses []Option, extra ...*AttrDef) {
		s.add(&TableDef{LogicalName: name, SetName: set, PrimaryID: "activityid", PrimaryName: "subject", ObjectTypeCode: otc, Ownership: "UserOwned",
			ChangeTracking: true, IsActivity: true, StateName: schemaName(name) + "State",
			Attrs: cat(activityAttrs(), extra, stateStatus(states, statuses), audit(true))})
	}
	openDone := []string{"Open", "Completed", "Canceled"}
	// email.md StatusCode: Draft and Failed are Open; Sent, Received,
	// Pending Send and Sending are Completed (set by SendEmail and the mail
	// server, not by an update: statemessages.go).
	activity("email", "emails", 4202, openDone, []Option{{1, "Draft", 0}, {8, "Failed", 0}, {2, "Completed", 1}, {3, "Sent", 1}, {4, "Received", 1},
		{6, "Pending Send", 1}, {7, "Sending", 1}, {5, "Canceled", 2}},
		boolean("directioncode"), str("sender"), str("torecipients"), str("messageid"), integer("attachmentcount"))
	// appointment.md: Scheduled (3) is Busy or Out of Office.
	activity("appointment", "appointments", 4201, []string{"Open", "Completed", "Canceled", "Scheduled"},
		[]Option{{1, "Free", 0}, {2, "Tentative", 0}, {3, "Completed", 1}, {4, "Canceled", 2}, {5, "Busy", 3}, {6, "Out of Office", 3}},
		str("location"), boolean("isalldayevent"))
	activity("phonecall", "phonecalls", 4210, openDone, []Option{{1, "Open", 0}, {2, "Made", 1}, {4, "Received", 1}, {3, "Canceled", 2}},
		boolean("directioncode"), str("phonenumber"))
	// letter.md: the default status of Open is 2 Draft.
	activity("letter", "letters", 4207, openDone, []Option{{2, "Draft", 0}, {1, "Open", 0}, {4, "Sent", 1}, {3, "Received", 1}, {5, "Canceled", 2}},
		boolean("directioncode"), memo("address"))
	activity("fax", "faxes", 4204, openDone, []Option{{1, "Open", 0}, {2, "Completed", 1}, {3, "Sent", 1}, {4, "Received", 1}, {5, "Canceled", 2}},
		boolean("directioncode"), str("faxnumber"), integer("numberofpages"))

	// activityparty.md: only RetrieveMultiple; rows are written through the
	// activity. activityid's Targets is activitypointer there; the simulator
	// has no activitypointer table, so it lists the activities themselves.
	party := &AttrDef{Name: "partyid", Type: TLookup, Targets: []string{"account", "contact", "lead", "systemuser"}}
	mask := &AttrDef{Name: "participationtypemask", Type: TPicklist}
	for i, l := range []string{"Sender", "To Recipient", "CC Recipient", "BCC Recipient", "Required attendee", "Optional attendee", "Organizer", "Regarding", "Owner", "Resource", "Customer"} {
		mask.Options = append(mask.Options, Option{Value: int64(i + 1), Label: l})
	}
	s.add(&TableDef{LogicalName: "activityparty", SetName: "activityparties", PrimaryID: "activitypartyid", PrimaryName: "partyidname", ObjectTypeCode: 135, Ownership: "None",
		Attrs: []*AttrDef{pk("activitypartyid"), {Name: "activityid", Type: TLookup, Targets: append([]string(nil), partyActivities...)}, party, mask,
			str("addressused"), ro(str("partyidname")), ro(&AttrDef{Name: "partyobjecttypecode", Type: TEntityName}), ro(boolean("ispartydeleted")),
			&AttrDef{Name: "effort", Type: TDouble}, ro(&AttrDef{Name: "versionnumber", Type: TBigInt})}})
}
