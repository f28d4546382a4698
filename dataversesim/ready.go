package dataversesim

// ReadyInfo is what cmd/dataverse-sim prints as one JSON line when ready.
type ReadyInfo struct {
	DataverseURL    string           `json:"dataverseUrl"`
	AuthorityHost   string           `json:"authorityHost"`
	TenantID        string           `json:"tenantId"`
	TokenURL        string           `json:"tokenUrl"`
	Clients         []ClientInfo     `json:"clients"`
	CertClient      *CertClientInfo  `json:"certificateClient,omitempty"`
	FederatedClient string           `json:"federatedClientId"`
	PublicClientID  string           `json:"publicClientId"`
	ServiceAccounts []ServiceAccount `json:"serviceAccounts"`
	CAFile          string           `json:"caFile"`
	Environments    []EnvInfo        `json:"environments"`
	ManagedIdentity MSIInfo          `json:"managedIdentity"`
	DiscoveryURL    string           `json:"globalDiscoveryUrl"`
	AdminURL        string           `json:"powerPlatformAdminUrl"`
	GraphURL        string           `json:"graphUrl"`
}

// ClientInfo is a client-secret app. AppUser tells what its application
// user is like: "sysadmin", "none" (403), "disabled" (403), "noroles".
type ClientInfo struct {
	Name         string `json:"name"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	AppUser      string `json:"appUser"`
}

// CertClientInfo is the certificate credential app; PEM holds certificate
// and private key.
type CertClientInfo struct {
	ClientID string `json:"clientId"`
	PEM      string `json:"pem"`
}

// EnvInfo describes one environment.
type EnvInfo struct {
	Name          string `json:"name"`
	UniqueName    string `json:"uniqueName,omitempty"`
	URL           string `json:"url,omitempty"`
	OrgID         string `json:"organizationId,omitempty"`
	EnvironmentID string `json:"environmentId"`
	Disabled      bool   `json:"disabled,omitempty"`
	HasDataverse  bool   `json:"hasDataverse"`
}

// MSIInfo is how to point ManagedIdentityCredential at the simulator.
type MSIInfo struct {
	IdentityEndpoint string `json:"IDENTITY_ENDPOINT"`
	IdentityHeader   string `json:"IDENTITY_HEADER"`
	ClientID         string `json:"clientId"`
}

// ReadyInfo summarises the endpoints and identities.
func (s *Server) ReadyInfo() ReadyInfo {
	info := ReadyInfo{DataverseURL: s.Demo().URL(), AuthorityHost: s.AuthorityHost, TenantID: s.tenant, TokenURL: s.TokenURL(),
		ServiceAccounts: s.ServiceAccounts(), DiscoveryURL: s.DiscoveryURL, AdminURL: s.AdminURL, GraphURL: s.GraphURL,
		ManagedIdentity: MSIInfo{s.MSIEndpoint, s.MSIHeader, s.ManagedIdentity().ClientID},
		FederatedClient: s.FederatedClient().ClientID, PublicClientID: s.PublicClient().ClientID}
	for _, a := range s.dir.apps {
		if a.Kind != KindSecret {
			continue
		}
		u := "sysadmin"
		switch {
		case a.NoAppUser:
			u = "none"
		case a.DisabledAppUser:
			u = "disabled"
		case a.NoRoles:
			u = "noroles"
		}
		info.Clients = append(info.Clients, ClientInfo{a.Name, a.ClientID, a.Secret, u})
	}
	cc := s.CertificateClient()
	info.CertClient = &CertClientInfo{cc.ClientID, string(cc.CertificatePEM())}
	for _, e := range s.envs {
		info.Environments = append(info.Environments, EnvInfo{e.spec.name, e.spec.uniqueName, e.url, e.OrgID, e.EnvironmentID, e.spec.disabled, e.HasDataverse()})
	}
	return info
}
