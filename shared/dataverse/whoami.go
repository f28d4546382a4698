package dataverse

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/guid"
)

// SystemAdministratorRoleTemplateID is the template id of the System
// Administrator security role, the same in every environment.
const SystemAdministratorRoleTemplateID = "627090ff-40a3-4053-8790-584edc5be201"

// WhoAmIResponse is the answer of the WhoAmI function.
type WhoAmIResponse struct {
	UserID         string `json:"UserId"`
	BusinessUnitID string `json:"BusinessUnitId"`
	OrganizationID string `json:"OrganizationId"`
	// DopHint is x-ms-dop-hint, the recommended degree of parallelism (0 when absent).
	DopHint int `json:"-"`
}

// WhoAmI calls the WhoAmI function: the caller's systemuser id, business unit
// and organization. It proves token, membership and that the user is enabled.
func (c *Client) WhoAmI(ctx context.Context) (WhoAmIResponse, error) {
	var out WhoAmIResponse
	h, err := c.getJSON(ctx, "WhoAmI()", nil, &out)
	if err != nil {
		return WhoAmIResponse{}, err
	}
	out.DopHint, _ = strconv.Atoi(h.Get("x-ms-dop-hint"))
	return out, nil
}

// Role is a security role held by a user. TemplateID is the role's
// roletemplateid lookup, which the Web API returns as _roletemplateid_value
// (selecting the navigation property roletemplateid does not return it).
type Role struct {
	ID         string `json:"roleid"`
	Name       string `json:"name"`
	TemplateID string `json:"_roletemplateid_value,omitempty"`
}

// IsSystemAdministrator reports whether r is the System Administrator role,
// by its template id: the name is a display label that differs by language
// and can be renamed, and a custom role called "System Administrator" is not
// one (dataverse-reference.md section 11).
func (r Role) IsSystemAdministrator() bool {
	return strings.EqualFold(r.TemplateID, SystemAdministratorRoleTemplateID)
}

// UserRoles lists the security roles directly assigned to the systemuser
// (systemuserroles_association). Reading them needs read privilege on
// systemuser and role; a user without it gets a *ResponseError 403.
func (c *Client) UserRoles(ctx context.Context, userID string) ([]Role, error) {
	if !guid.Valid(userID) {
		return nil, fmt.Errorf("dataverse: user id %q is not a GUID", userID)
	}
	var out struct {
		Value []Role `json:"value"`
	}
	if _, err := c.getJSON(ctx, "systemusers("+userID+")/systemuserroles_association?$select=name,roleid,_roletemplateid_value", nil, &out); err != nil {
		return nil, err
	}
	return out.Value, nil
}

// Table is the metadata of a table needed to read it.
type Table struct {
	LogicalName           string `json:"LogicalName"`
	EntitySetName         string `json:"EntitySetName"`
	PrimaryIDAttribute    string `json:"PrimaryIdAttribute"`
	PrimaryNameAttribute  string `json:"PrimaryNameAttribute"`
	ChangeTrackingEnabled bool   `json:"ChangeTrackingEnabled"`
}

// ChangeTrackedTables lists the tables whose ChangeTrackingEnabled flag is on.
func (c *Client) ChangeTrackedTables(ctx context.Context) ([]Table, error) {
	var out struct {
		Value []Table `json:"value"`
	}
	q := "EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,ChangeTrackingEnabled&$filter=" +
		url.PathEscape("ChangeTrackingEnabled eq true")
	if _, err := c.getJSON(ctx, q, nil, &out); err != nil {
		return nil, err
	}
	return out.Value, nil
}

// CheckChangeTracking starts a change-tracked read of t (one record, the
// primary key only) and reports whether the server applied change tracking.
// An error means the read itself failed (no privilege, tracking not enabled).
func (c *Client) CheckChangeTracking(ctx context.Context, t Table) (bool, error) {
	if t.EntitySetName == "" || t.PrimaryIDAttribute == "" {
		return false, fmt.Errorf("dataverse: table %q lacks entity set or primary id", t.LogicalName)
	}
	hdr := http.Header{}
	hdr.Set("Prefer", "odata.track-changes, odata.maxpagesize=1")
	h, err := c.getJSON(ctx, url.PathEscape(t.EntitySetName)+"?$select="+url.QueryEscape(t.PrimaryIDAttribute), hdr, nil)
	if err != nil {
		return false, err
	}
	return strings.Contains(h.Get("Preference-Applied"), "odata.track-changes"), nil
}
