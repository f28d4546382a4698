package connections

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/google/uuid"

	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/identity"
)

// Discovery sources.
const (
	SourceGlobalDiscovery = "globalDiscovery"    // service account: Global Discovery Service
	SourceAdminAPI        = "powerPlatformAdmin" // app profile: Power Platform admin API
	SourceRegisteredURLs  = "registeredUrls"     // app profile without admin API permission
)

// DiscoveryResult says what a discovery ("scan") found and changed.
type DiscoveryResult struct {
	ConnectionID string        `json:"connectionId"`
	IdentityID   string        `json:"identityId"`
	Source       string        `json:"source"`
	Added        []Environment `json:"added"`
	Updated      []Environment `json:"updated"`
	Gone         []Environment `json:"gone"`
	Problems     []Problem     `json:"problems"`
}

type found struct {
	url, uniqueName, friendly, orgID, envID string
	disabled                                bool
}

// Discover lists the environments the connection's identity (identityID,
// or the first one) can reach and registers new ones (backups disabled
// unless EnableNew), updates names and states of known ones, and flags
// known ones no longer listed as gone (never deleting them or their
// backups). URLs found are held to the same allow-list as URLs typed in.
func (s *Service) Discover(ctx context.Context, connID, identityID string) (*DiscoveryResult, error) {
	c, err := s.Get(ctx, connID)
	if err != nil {
		return nil, err
	}
	var id *Identity
	if identityID == "" && len(c.Identities) > 0 {
		id = &c.Identities[0]
	} else {
		id = c.Identity(identityID)
	}
	if id == nil {
		return nil, invalid("identityId", "connection %s has no identity %q", c.ID, identityID)
	}
	res := &DiscoveryResult{ConnectionID: c.ID, IdentityID: id.ID, Added: []Environment{}, Updated: []Environment{}, Gone: []Environment{}, Problems: []Problem{}}
	cred, err := s.credential(ctx, c, *id)
	if err != nil {
		return nil, fmt.Errorf("identity %s: %w", id.ID, err)
	}
	var list []found
	authoritative := true
	explainTok := func(err error) error {
		var te *tokenError
		if errors.As(err, &te) {
			p := identity.Explain(te.err, id.Spec(c.TenantID))
			res.Problems = append(res.Problems, Problem{Code: p.Code, Severity: "error", Message: p.Message, Fix: p.Fix})
			return nil
		}
		return err
	}
	if c.Kind == KindServiceAccount {
		res.Source = SourceGlobalDiscovery
		list, err = s.globalDiscovery(ctx, cred)
		if err != nil {
			if err := explainTok(err); err != nil {
				res.Problems = append(res.Problems, Problem{Code: "discovery_failed", Severity: "error", Message: "The Global Discovery Service failed: " + err.Error(), Fix: "Retry later; check the account's license."})
			}
			return res, nil
		}
	} else {
		res.Source = SourceAdminAPI
		list, err = s.adminEnvironments(ctx, cred)
		var he *httpError
		switch {
		case errors.As(err, &he) && (he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden):
			res.Source, authoritative = SourceRegisteredURLs, false
			res.Problems = append(res.Problems, Problem{Code: "admin_api_not_permitted", Severity: "warning",
				Message: "The app may not list environments through the Power Platform admin API (" + he.Error() + "); only the environments registered by URL are used.",
				Fix:     "Register the app as a Power Platform management application (pac admin application register --application-id " + id.ClientID + ") or add environments by URL."})
		case err != nil:
			if err := explainTok(err); err != nil {
				res.Problems = append(res.Problems, Problem{Code: "discovery_failed", Severity: "error", Message: "The Power Platform admin API failed: " + err.Error(), Fix: "Retry later."})
			}
			return res, nil
		}
	}
	existing, err := s.o.Store.ListEnvironments(ctx, "")
	if err != nil {
		return nil, err
	}
	byURL := map[string]*Environment{}
	for i := range existing {
		byURL[existing[i].URL] = &existing[i]
	}
	seen := map[string]bool{}
	now := s.now()
	for _, f := range list {
		u, err := dataverse.CheckEnvironmentURL(f.url, s.o.AllowedHosts)
		if err != nil {
			res.Problems = append(res.Problems, Problem{Code: "url_refused", Severity: "warning", Message: "Discovery returned " + f.url + ", which is refused: " + err.Error(),
				Fix: "Only Dataverse hosts are registered; add the host to DATAVERSE_ALLOWED_HOSTS if it is trusted."})
			continue
		}
		seen[u] = true
		state := StateActive
		if f.disabled {
			state = StateDisabled
		}
		if e := byURL[u]; e != nil {
			if e.ConnectionID != c.ID {
				continue // registered under another connection: leave it there
			}
			if e.State != state || e.DisplayName != f.friendly || e.UniqueName != f.uniqueName {
				e.State, e.DisplayName, e.UniqueName = state, f.friendly, f.uniqueName
				if f.orgID != "" {
					e.OrganizationID = f.orgID
				}
				if f.envID != "" {
					e.EnvironmentID = f.envID
				}
				e.UpdatedAt = now
				res.Updated = append(res.Updated, *e)
			}
			e.LastSeenAt = &now
			if err := s.o.Store.PutEnvironment(ctx, e); err != nil {
				return res, err
			}
			continue
		}
		e := Environment{ID: uuid.NewString(), URL: u, ConnectionID: c.ID, DisplayName: f.friendly, UniqueName: f.uniqueName, OrganizationID: f.orgID,
			EnvironmentID: f.envID, State: state, Source: "discovery", Policy: DefaultPolicy(s.o.EnableNew && !f.disabled), CreatedAt: now, UpdatedAt: now, LastSeenAt: &now}
		if err := s.o.Store.PutEnvironment(ctx, &e); err != nil {
			return res, err
		}
		res.Added = append(res.Added, e)
	}
	if authoritative {
		for i := range existing {
			e := &existing[i]
			if e.ConnectionID != c.ID || seen[e.URL] || e.State == StateGone {
				continue
			}
			e.State, e.UpdatedAt = StateGone, now
			if err := s.o.Store.PutEnvironment(ctx, e); err != nil {
				return res, err
			}
			res.Gone = append(res.Gone, *e)
		}
	}
	return res, nil
}

func (s *Service) globalDiscovery(ctx context.Context, cred azcore.TokenCredential) ([]found, error) {
	base := strings.TrimSuffix(s.o.Endpoints.GlobalDiscovery, "/")
	var out struct {
		Value []struct {
			ID            string `json:"Id"`
			UniqueName    string `json:"UniqueName"`
			FriendlyName  string `json:"FriendlyName"`
			State         int    `json:"State"`
			URL           string `json:"Url"`
			EnvironmentID string `json:"EnvironmentId"`
		} `json:"value"`
	}
	if err := s.getJSON(ctx, cred, base+"/.default", base+"/api/discovery/v2.0/Instances", &out); err != nil {
		return nil, err
	}
	var list []found
	for _, v := range out.Value {
		list = append(list, found{url: v.URL, uniqueName: v.UniqueName, friendly: v.FriendlyName, orgID: v.ID, envID: v.EnvironmentID, disabled: v.State == 1})
	}
	return list, nil
}

func (s *Service) adminEnvironments(ctx context.Context, cred azcore.TokenCredential) ([]found, error) {
	base := strings.TrimSuffix(s.o.Endpoints.PowerPlatformAdmin, "/")
	next := base + "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2020-10-01"
	var list []found
	for page := 0; next != "" && page < 50; page++ {
		var out struct {
			Value []struct {
				Name       string `json:"name"`
				Properties struct {
					DisplayName string `json:"displayName"`
					States      struct {
						Runtime struct {
							ID string `json:"id"`
						} `json:"runtime"`
					} `json:"states"`
					Linked *struct {
						UniqueName    string `json:"uniqueName"`
						InstanceURL   string `json:"instanceUrl"`
						InstanceState string `json:"instanceState"`
						ResourceID    string `json:"resourceId"`
					} `json:"linkedEnvironmentMetadata"`
				} `json:"properties"`
			} `json:"value"`
			NextLink string `json:"nextLink"`
		}
		if err := s.getJSON(ctx, cred, base+"/.default", next, &out); err != nil {
			return nil, err
		}
		for _, v := range out.Value {
			l := v.Properties.Linked
			if l == nil || l.InstanceURL == "" {
				continue // no Dataverse database
			}
			disabled := v.Properties.States.Runtime.ID == "Disabled" || l.InstanceState == "Disabled"
			list = append(list, found{url: l.InstanceURL, uniqueName: l.UniqueName, friendly: v.Properties.DisplayName, orgID: l.ResourceID, envID: v.Name, disabled: disabled})
		}
		next = ""
		if out.NextLink != "" && strings.HasPrefix(out.NextLink, base+"/") {
			next = out.NextLink // only follow links on the admin API's own host
		}
	}
	return list, nil
}
