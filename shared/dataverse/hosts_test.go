package dataverse

import (
	"errors"
	"testing"
)

func TestCheckEnvironmentURL(t *testing.T) {
	extra := []string{"127.0.0.1:8443", "sim.local:9443", "169.254.169.254"}
	ok := map[string]string{
		"https://contoso.crm.dynamics.com":      "https://contoso.crm.dynamics.com",
		"https://Contoso.CRM4.dynamics.com/":    "https://contoso.crm4.dynamics.com",
		"https://contoso.crm9.dynamics.com:443": "https://contoso.crm9.dynamics.com",
		"https://gov.crm.microsoftdynamics.us":  "https://gov.crm.microsoftdynamics.us",
		"https://dod.crm.appsplatform.us":       "https://dod.crm.appsplatform.us",
		"https://cn-org.crm.dynamics.cn":        "https://cn-org.crm.dynamics.cn",
		"https://127.0.0.1:8443":                "https://127.0.0.1:8443",
		"https://sim.local:9443/":               "https://sim.local:9443",
	}
	for in, want := range ok {
		got, err := CheckEnvironmentURL(in, extra)
		if err != nil || got != want {
			t.Errorf("CheckEnvironmentURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"", "http://contoso.crm.dynamics.com", "ftp://contoso.crm.dynamics.com", "contoso.crm.dynamics.com",
		"https://user:pw@contoso.crm.dynamics.com", "https://contoso.crm.dynamics.com/api/data/v9.2",
		"https://contoso.crm.dynamics.com?x=1", "https://contoso.crm.dynamics.com#f",
		"https://contoso.crm.dynamics.com:8443", "https://evil.com", "https://contoso.crm.dynamics.com.evil.com",
		"https://evil.com/contoso.crm.dynamics.com", "https://a.b.crm.dynamics.com", "https://crm.dynamics.com",
		"https://contoso.crmx.dynamics.com", "https://contoso.dynamics.com",
		"https://127.0.0.1", "https://127.0.0.1:9999", "https://10.0.0.5", "https://[::1]", "https://[fe80::1]:443",
		"https://169.254.169.254", "https://169.254.169.254/metadata/instance", "https://localhost", "https://localhost:8443",
		"https://foo.localhost", "https://intranet", "https://contoso.crm.dynamics.com\\@evil.com", "https://contoso.crm.dynamics.com /x",
		"https://0.0.0.0", "https://2130706433",
	}
	for _, in := range bad {
		if got, err := CheckEnvironmentURL(in, extra); !errors.Is(err, ErrURLNotAllowed) {
			t.Errorf("CheckEnvironmentURL(%q) = %q, %v; want refusal", in, got, err)
		}
	}
}
