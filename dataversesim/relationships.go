package dataversesim

import "strings"

// Cascade is a one-to-many relationship's CascadeConfiguration: one of
// "Cascade", "Active", "UserOwned", "NoCascade", "RemoveLink", "Restrict"
// per action, as the table reference pages list them (powerapps-docs,
// developer/data-platform/reference/entities/<table>.md, "One-to-Many
// Relationships" / "Many-to-One Relationships", row CascadeConfiguration).
type Cascade struct {
	Assign, Delete, Merge, Reparent, Share, Unshare string
}

// Rel1N is one one-to-many relationship: ReferencedEntity (the "one" side)
// is referenced by ReferencingEntity.ReferencingAttribute (a lookup). It is
// served by EntityDefinitions(...)/OneToManyRelationships and
// ManyToOneRelationships and drives what a delete of the referenced record
// does to the referencing rows (Cascade.Delete).
type Rel1N struct {
	SchemaName                              string
	ReferencedEntity, ReferencedAttribute   string
	ReferencingEntity, ReferencingAttribute string
	// ReferencedNav is ReferencedEntityNavigationPropertyName (the collection
	// on the referenced table); ReferencingNav is
	// ReferencingEntityNavigationPropertyName (the single-valued property
	// used by @odata.bind).
	ReferencedNav, ReferencingNav string
	Cascade                       Cascade
}

// relFor returns the one-to-many relationship behind a lookup column and one
// of its targets, or nil.
func (s *schema) relFor(referencing, attr, target string) *Rel1N {
	for _, r := range s.rels {
		if r.ReferencingEntity == referencing && r.ReferencingAttribute == attr && r.ReferencedEntity == target {
			return r
		}
	}
	return nil
}

// cascadeOf reads "Assign Delete Merge Reparent Share Unshare" values in the
// order the reference pages print them in CascadeConfiguration.
func cascadeOf(s string) Cascade {
	f := strings.Fields(s)
	return Cascade{Assign: f[0], Delete: f[1], Merge: f[2], Reparent: f[3], Share: f[4], Unshare: f[5]}
}

// Cascade configurations that recur on the reference pages.
var (
	// parental: every action cascades, e.g. contact_customer_accounts,
	// Account_Tasks, Account_Emails, Account_Annotation (account.md).
	parental = cascadeOf("Cascade Cascade Cascade Cascade Cascade Cascade")
	// referential with Delete RemoveLink and nothing else cascading, e.g.
	// account_master_account (account.md).
	removeLink = cascadeOf("NoCascade RemoveLink NoCascade NoCascade NoCascade NoCascade")
	// noCascade: e.g. business_unit_accounts (businessunit.md),
	// account_activity_parties (account.md).
	noCascade = cascadeOf("NoCascade NoCascade NoCascade NoCascade NoCascade NoCascade")
	// restrict: e.g. TransactionCurrency_Incident (incident.md).
	restrict = cascadeOf("NoCascade Restrict NoCascade NoCascade NoCascade NoCascade")
)

// knownRel is a relationship as its reference page states it.
type knownRel struct {
	schemaName string
	cascade    Cascade
}

// knownRelationships holds, per "<referencing table>.<lookup>.<target>",
// the SchemaName and CascadeConfiguration the pages list under One-To-Many
// Relationships. Sources: powerapps-docs developer/data-platform/reference/
// entities/{account,contact,email,activityparty}.md and, for the sales and
// service tables, dynamics-365-customer-engagement ce/developer/entities/
// {account,opportunity,quote,incident}.md. Entries marked "assumed" mirror
// the documented sibling (the contact twin of an account relationship, or
// the same relationship on another activity) where the page was not read.
var knownRelationships = map[string]knownRel{
	"account.parentaccountid.account":            {"account_parent_account", cascadeOf("Cascade RemoveLink Cascade Cascade Cascade Cascade")},
	"account.primarycontactid.contact":           {"account_primary_contact", cascadeOf("NoCascade RemoveLink Cascade NoCascade NoCascade NoCascade")}, // contact.md
	"account.masterid.account":                   {"account_master_account", removeLink},
	"contact.parentcustomerid.account":           {"contact_customer_accounts", parental},
	"contact.parentcustomerid.contact":           {"contact_customer_contacts", cascadeOf("Cascade RemoveLink Cascade Cascade Cascade Cascade")}, // contact.md
	"contact.masterid.contact":                   {"contact_master_contact", removeLink},                                                         // contact.md
	"opportunity.customerid.account":             {"opportunity_customer_accounts", parental},
	"opportunity.customerid.contact":             {"opportunity_customer_contacts", parental}, // assumed
	"opportunity.parentaccountid.account":        {"opportunity_parent_account", cascadeOf("NoCascade RemoveLink Cascade NoCascade NoCascade NoCascade")},
	"annotation.objectid.account":                {"Account_Annotation", parental},
	"annotation.objectid.contact":                {"Contact_Annotation", parental},
	"annotation.objectid.opportunity":            {"Opportunity_Annotation", parental},  // assumed
	"annotation.objectid.lead":                   {"Lead_Annotation", parental},         // assumed
	"annotation.objectid.cr1_project":            {"cr1_project_Annotations", parental}, // notes of a custom table: assumed parental like the system tables'
	"incident.customerid.account":                {"incident_customer_accounts", parental},
	"incident.customerid.contact":                {"incident_customer_contacts", parental},   // assumed
	"incident.primarycontactid.contact":          {"contact_as_primary_contact", removeLink}, // assumed
	"incidentresolution.incidentid.incident":     {"Incident_IncidentResolutions", parental},
	"opportunityclose.opportunityid.opportunity": {"Opportunity_OpportunityClose", cascadeOf("Cascade Cascade NoCascade Cascade Cascade Cascade")},
	"quote.customerid.account":                   {"quote_customer_accounts", parental},
	"quote.customerid.contact":                   {"quote_customer_contacts", parental}, // assumed
	"quote.opportunityid.opportunity":            {"opportunity_quotes", cascadeOf("Cascade Cascade NoCascade NoCascade NoCascade NoCascade")},
	"quotedetail.quoteid.quote":                  {"quote_details", cascadeOf("Cascade Cascade NoCascade NoCascade NoCascade NoCascade")},
	"quoteclose.quoteid.quote":                   {"Quote_QuoteClose", cascadeOf("Cascade Cascade NoCascade Cascade Cascade Cascade")}, // assumed, as Opportunity_OpportunityClose
	"salesorder.customerid.account":              {"order_customer_accounts", cascadeOf("Cascade Restrict Cascade Cascade Cascade Cascade")},
	"salesorder.customerid.contact":              {"order_customer_contacts", cascadeOf("Cascade Restrict Cascade Cascade Cascade Cascade")}, // assumed
	"salesorder.opportunityid.opportunity":       {"opportunity_sales_orders", cascadeOf("Cascade Restrict NoCascade NoCascade NoCascade NoCascade")},
	"salesorder.quoteid.quote":                   {"quote_orders", cascadeOf("Cascade Restrict NoCascade NoCascade NoCascade NoCascade")},   // assumed, as opportunity_sales_orders
	"salesorderdetail.salesorderid.salesorder":   {"order_details", cascadeOf("Cascade Cascade NoCascade NoCascade NoCascade NoCascade")},   // assumed, as quote_details
	"orderclose.salesorderid.salesorder":         {"SalesOrder_OrderClose", cascadeOf("Cascade Cascade NoCascade Cascade Cascade Cascade")}, // assumed
	"invoice.customerid.account":                 {"invoice_customer_accounts", cascadeOf("Cascade Restrict Cascade Cascade Cascade Cascade")},
	"invoice.customerid.contact":                 {"invoice_customer_contacts", cascadeOf("Cascade Restrict Cascade Cascade Cascade Cascade")}, // assumed
	"invoice.salesorderid.salesorder":            {"order_invoices", cascadeOf("Cascade Restrict NoCascade NoCascade NoCascade NoCascade")},    // assumed
	"invoicedetail.invoiceid.invoice":            {"invoice_details", cascadeOf("Cascade Cascade NoCascade NoCascade NoCascade NoCascade")},    // assumed
}

// activityRelName is the SchemaName of an activity's regarding relationship:
// Account_Tasks, Contact_Emails, Account_Appointments, Account_Phonecalls,
// Account_Letters, Account_Faxes (account.md, contact.md), all parental.
func activityRelName(target, activity string) string {
	plural := map[string]string{"task": "Tasks", "email": "Emails", "appointment": "Appointments", "phonecall": "Phonecalls", "letter": "Letters", "fax": "Faxes"}[activity]
	if plural == "" {
		return target + "_" + activity + "_regardingobjectid"
	}
	return schemaName(target) + "_" + plural
}

// DefaultDeleteCascade is CascadeConfiguration.Delete for a lookup the
// simulator has no page for (custom lookups): Referential, Remove Link,
// which keeps both records and clears the lookup (powerapps-docs,
// maker/data-platform/data-platform-entity-lookup.md "Add advanced
// relationship behavior"; the only Delete behaviour a polymorphic custom
// lookup supports, CascadeBehaviorNotSupportedInPolymorphicLookup in
// developer/data-platform/includes/data-service-error-codes.md).
const DefaultDeleteCascade = "RemoveLink"

// relationshipsFromLookups builds one Rel1N per lookup column and target,
// with the documented cascade configuration where knownRelationships (or a
// pattern the pages share) has it and Referential, Remove Link otherwise.
// It runs after finish has derived the navigation property names.
func relationshipsFromLookups(s *schema) []*Rel1N {
	var out []*Rel1N
	for _, src := range s.tables {
		for _, a := range src.Attrs {
			if !a.IsLookup() {
				continue
			}
			for _, tg := range a.Targets {
				ref := s.byName[tg]
				if ref == nil {
					continue
				}
				name, c := relationshipFacts(src.LogicalName, a.Name, tg)
				out = append(out, &Rel1N{SchemaName: name, ReferencedEntity: tg, ReferencedAttribute: ref.PrimaryID,
					ReferencingEntity: src.LogicalName, ReferencingAttribute: a.Name, ReferencedNav: name, ReferencingNav: a.nav[tg], Cascade: c})
			}
		}
	}
	return out
}

// relationshipFacts names a relationship and gives its cascade configuration.
func relationshipFacts(entity, attr, target string) (string, Cascade) {
	if k, ok := knownRelationships[entity+"."+attr+"."+target]; ok {
		return k.schemaName, k.cascade
	}
	switch {
	case attr == "regardingobjectid":
		// Account_Tasks, Contact_Emails, ... are parental (account.md, contact.md).
		return activityRelName(target, entity), parental
	case entity == "activityparty" && attr == "activityid":
		// email_activity_parties: NoCascade (email.md); the parties go
		// with their activity anyway (cascade.go).
		return target + "_activity_parties", noCascade
	case entity == "activityparty" && attr == "partyid":
		// account_activity_parties, contact_activity_parties,
		// system_user_activity_parties: NoCascade (activityparty.md).
		if target == "systemuser" {
			return "system_user_activity_parties", noCascade
		}
		return target + "_activity_parties", noCascade
	case attr == "transactioncurrencyid":
		return "TransactionCurrency_" + schemaName(entity), restrict
	case attr == "owningbusinessunit":
		return "business_unit_" + entity, noCascade
	case attr == "createdby" || attr == "modifiedby":
		return "lk_" + entity + "_" + attr, noCascade
	case attr == "ownerid" && target == "systemuser":
		return "user_" + entity, noCascade
	case attr == "ownerid" && target == "team":
		return "team_" + entity, noCascade
	case target == "businessunit" || target == "roletemplate":
		// A business unit with users, teams or roles cannot be deleted
		// (assumed Restrict); role templates are never deleted.
		return target + "_" + entity + "_" + attr, restrict
	}
	c := removeLink
	c.Delete = DefaultDeleteCascade
	return target + "_" + entity + "_" + attr, c
}
