package dataverse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Writes (reference 5). These are the restore engine's calls; reads live in
// pages.go, metadata.go and files.go.

// Business-logic and flow headers (reference 5).
const (
	HeaderBypassBusinessLogic = "MSCRM.BypassBusinessLogicExecution"
	HeaderBypassPlugins       = "MSCRM.BypassCustomPluginExecution"
	HeaderSuppressFlows       = "MSCRM.SuppressCallbackRegistrationExpanderJob"
	BypassBusinessLogicValue  = "CustomSync,CustomAsync"
)

// WriteOptions tune one write. The zero value sends no condition and no
// bypass header.
type WriteOptions struct {
	// IfMatch: "*" forbids creating (upsert becomes update), W/"n" makes the
	// write conditional on the record's version (412 otherwise).
	IfMatch string
	// IfNoneMatch "*" forbids updating (upsert becomes create-only; an
	// existing record answers 412).
	IfNoneMatch string
	// BypassBusinessLogic sends MSCRM.BypassBusinessLogicExecution (needs
	// prvBypassCustomBusinessLogic; check it before, see CanBypassBusinessLogic).
	BypassBusinessLogic bool
	// SuppressFlows sends MSCRM.SuppressCallbackRegistrationExpanderJob
	// (Power Automate flows are not triggered).
	SuppressFlows bool
}

// Apply sets the option headers on h.
func (o *WriteOptions) Apply(h http.Header) {
	if o == nil {
		return
	}
	if o.IfMatch != "" {
		h.Set("If-Match", o.IfMatch)
	}
	if o.IfNoneMatch != "" {
		h.Set("If-None-Match", o.IfNoneMatch)
	}
	if o.BypassBusinessLogic {
		h.Set(HeaderBypassBusinessLogic, BypassBusinessLogicValue)
	}
	if o.SuppressFlows {
		h.Set(HeaderSuppressFlows, "true")
	}
}

// EntityPath is "<set>(<id>)", the relative URL of a record.
func EntityPath(entitySet, id string) string {
	return url.PathEscape(entitySet) + "(" + strings.Trim(id, "{}") + ")"
}

func (c *Client) sendJSON(ctx context.Context, method, path string, body any, o *WriteOptions) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(body); err != nil {
				return nil, fmt.Errorf("dataverse: encode %s %s: %w", method, path, err)
			}
		}
		rd = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, path, rd)
	if err != nil {
		return nil, err
	}
	o.Apply(req.Header)
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp, nil
}

// Create POSTs a record (body: a JSON-encodable value or []byte of JSON) and
// returns its id from the OData-EntityId header.
func (c *Client) Create(ctx context.Context, entitySet string, body any, o *WriteOptions) (string, error) {
	resp, err := c.sendJSON(ctx, http.MethodPost, url.PathEscape(entitySet), body, o)
	if err != nil {
		return "", err
	}
	return IDFromEntityURL(resp.Header.Get("OData-EntityId")), nil
}

// Update PATCHes an existing record: If-Match defaults to "*" so a missing
// record is a 404, never a create. It returns the new ETag when sent.
func (c *Client) Update(ctx context.Context, entitySet, id string, body any, o *WriteOptions) (string, error) {
	var oo WriteOptions
	if o != nil {
		oo = *o
	}
	if oo.IfMatch == "" {
		oo.IfMatch = "*"
	}
	resp, err := c.sendJSON(ctx, http.MethodPatch, EntityPath(entitySet, id), body, &oo)
	if err != nil {
		return "", err
	}
	return resp.Header.Get("ETag"), nil
}

// Upsert PATCHes a record by id: created when missing, updated otherwise,
// unless o adds If-None-Match: * (create only) or If-Match (update only).
func (c *Client) Upsert(ctx context.Context, entitySet, id string, body any, o *WriteOptions) error {
	_, err := c.sendJSON(ctx, http.MethodPatch, EntityPath(entitySet, id), body, o)
	return err
}

// Delete removes a record (If-Match in o makes it conditional).
func (c *Client) Delete(ctx context.Context, entitySet, id string, o *WriteOptions) error {
	_, err := c.sendJSON(ctx, http.MethodDelete, EntityPath(entitySet, id), nil, o)
	return err
}

// Associate links two records through a collection-valued navigation
// property (N:N): POST <set>(<id>)/<nav>/$ref {"@odata.id": <target URL>}.
func (c *Client) Associate(ctx context.Context, entitySet, id, nav, targetSet, targetID string, o *WriteOptions) error {
	body := map[string]string{"@odata.id": c.APIURL(EntityPath(targetSet, targetID))}
	_, err := c.sendJSON(ctx, http.MethodPost, EntityPath(entitySet, id)+"/"+url.PathEscape(nav)+"/$ref", body, o)
	return err
}

// Disassociate removes an N:N link: DELETE <set>(<id>)/<nav>(<targetID>)/$ref.
func (c *Client) Disassociate(ctx context.Context, entitySet, id, nav, targetID string, o *WriteOptions) error {
	_, err := c.sendJSON(ctx, http.MethodDelete, EntityPath(entitySet, id)+"/"+url.PathEscape(nav)+"("+targetID+")/$ref", nil, o)
	return err
}

// GetRecord reads one record with every annotation (cols empty: all columns).
// A missing record is an error for which IsNotFound is true.
func (c *Client) GetRecord(ctx context.Context, entitySet, id string, cols []string) (json.RawMessage, error) {
	p := EntityPath(entitySet, id)
	if len(cols) > 0 {
		p += "?$select=" + url.QueryEscape(strings.Join(cols, ","))
	}
	var raw json.RawMessage
	_, err := c.getJSON(ctx, p, http.Header{"Prefer": {`odata.include-annotations="*"`}}, &raw)
	return raw, err
}

// IDFromEntityURL returns the id inside ".../<set>(<id>)".
func IDFromEntityURL(u string) string {
	i := strings.LastIndexByte(u, '(')
	j := strings.LastIndexByte(u, ')')
	if i < 0 || j < i {
		return ""
	}
	return strings.Trim(u[i+1:j], "{}")
}

// CanBypassBusinessLogic reports whether the client's identity may send the
// bypass header: it holds the System Administrator role (which has
// prvBypassCustomBusinessLogic). The reason explains a refusal.
func (c *Client) CanBypassBusinessLogic(ctx context.Context) (bool, string, error) {
	who, err := c.WhoAmI(ctx)
	if err != nil {
		return false, "", err
	}
	roles, err := c.UserRoles(ctx, who.UserID)
	if err != nil {
		return false, "", err
	}
	for _, r := range roles {
		if r.IsSystemAdministrator() {
			return true, "", nil
		}
	}
	return false, "the identity " + who.UserID + " lacks prvBypassCustomBusinessLogic (System Administrator role)", nil
}
