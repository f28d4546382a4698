package plantest

import (
	"fmt"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

func TestMemoryTargetConforms(t *testing.T) {
	tgt := NewTarget()
	tgt.AddTable(plan.TableInfo{Name: "account", EntitySet: "accounts", PrimaryID: "accountid"}, plan.Column{Name: "name", Create: true, Update: true})
	tgt.AddTable(plan.TableInfo{Name: "systemuser", EntitySet: "systemusers", PrimaryID: "systemuserid"}, plan.Column{Name: "domainname", Create: true, Update: true})
	tgt.AddTable(plan.TableInfo{Name: "contact", EntitySet: "contacts", PrimaryID: "contactid"}, plan.Column{Name: "parentcustomerid", Create: true, Update: true})
	cascade := plan.Relationship{Name: "contact_customer_accounts", Referenced: "account", Referencing: "contact", Attribute: "parentcustomerid",
		Navigation: "parentcustomerid_account", Collection: "contact_customer_accounts", Delete: plan.DeleteCascade}
	tgt.Relate(cascade)
	tgt.AddTable(plan.TableInfo{Name: "accountleads", EntitySet: "accountleadsset", PrimaryID: "accountleadid", IsIntersect: true})
	tgt.Relationships = []plan.ManyToMany{{Name: "accountleads_association", Intersect: "accountleads", Entity1: "account", Entity2: "lead",
		Entity1Column: "accountid", Entity2Column: "leadid", Entity1Navigation: "accountleads_association", Entity2Navigation: "accountleads_association"}}
	var ids []string
	for i := range 5 {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)
		ids = append(ids, id)
		if err := tgt.Put("account", map[string]any{"accountid": id, "name": fmt.Sprint("A", i), "@odata.etag": fmt.Sprintf(`W/"%d"`, i+10)}); err != nil {
			t.Fatal(err)
		}
	}
	user := "00000000-0000-4000-8000-0000000000aa"
	lead := "00000000-0000-4000-8000-0000000000bb"
	for _, r := range []struct {
		table string
		rec   map[string]any
	}{
		{"systemuser", map[string]any{"systemuserid": user, "domainname": "Ann@Contoso.com"}},
		{"accountleads", map[string]any{"accountleadid": "00000000-0000-4000-8000-0000000000cc", "accountid": ids[0], "leadid": lead}},
	} {
		if err := tgt.Put(r.table, r.rec); err != nil {
			t.Fatal(err)
		}
	}
	VerifyTarget(t, tgt, Facts{Table: "account", IDs: ids[:4], KeyTable: "systemuser", KeyColumn: "domainname", KeyValue: "ann@contoso.com", KeyID: user,
		RelationshipOf: "account", Intersect: "accountleads", Linked: plan.Link{ID1: ids[0], ID2: lead}, Unlinked: plan.Link{ID1: ids[1], ID2: lead},
		Cascade: &cascade})
}
