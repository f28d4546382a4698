package dataversesim

import (
	"encoding/json"
	"net/http"
	"testing"
)

func getJSON(t *testing.T, s *Server, url, tok string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

func TestGlobalDiscovery(t *testing.T) {
	s, _ := small(t)
	admin := s.ServiceAccount("admin")
	tok, _ := s.UserToken(admin.Username, s.DiscoveryURL)
	st, m := getJSON(t, s, s.DiscoveryURL+"/api/discovery/v2.0/Instances", tok)
	if st != 200 {
		t.Fatalf("Instances: %d %v", st, m)
	}
	byName := map[string]map[string]any{}
	for _, v := range m["value"].([]any) {
		x := v.(map[string]any)
		byName[x["UniqueName"].(string)] = x
	}
	if len(byName) != 3 || byName["orgdemo"]["Url"] != s.Demo().URL() || byName["orgdemo"]["IsUserSysAdmin"] != true || byName["orgdisabled"]["State"] != float64(1) {
		t.Fatalf("instances %v", byName)
	}
	plain, _ := s.UserToken(s.ServiceAccount("user").Username, s.DiscoveryURL)
	_, m = getJSON(t, s, s.DiscoveryURL+"/api/discovery/v2.0/Instances", plain)
	if m["value"].([]any)[0].(map[string]any)["IsUserSysAdmin"] != false {
		t.Fatalf("plain user is sysadmin: %v", m)
	}
	appTok, _ := s.Token(s.SecretClients()[0].ClientID, s.DiscoveryURL)
	if st, _ := getJSON(t, s, s.DiscoveryURL+"/api/discovery/v2.0/Instances", appTok); st != 401 {
		t.Fatalf("app token accepted by global discovery: %d", st)
	}
}

func TestPowerPlatformAdminEnvironments(t *testing.T) {
	s, _ := small(t)
	tok, _ := s.Token(s.SecretClients()[0].ClientID, s.AdminURL)
	st, m := getJSON(t, s, s.AdminURL+"/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2020-10-01", tok)
	if st != 200 {
		t.Fatalf("%d %v", st, m)
	}
	var noDV, disabled, withDV int
	for _, v := range m["value"].([]any) {
		p := v.(map[string]any)["properties"].(map[string]any)
		if _, ok := p["linkedEnvironmentMetadata"]; !ok {
			noDV++
		} else {
			withDV++
		}
		if p["states"].(map[string]any)["runtime"].(map[string]any)["id"] == "Disabled" {
			disabled++
		}
	}
	if noDV != 1 || disabled != 1 || withDV != 3 {
		t.Fatalf("environments: noDV %d disabled %d withDV %d", noDV, disabled, withDV)
	}
	plain, _ := s.UserToken(s.ServiceAccount("user").Username, s.AdminURL)
	if st, _ := getJSON(t, s, s.AdminURL+"/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2020-10-01", plain); st != 403 {
		t.Fatalf("non-admin user: %d", st)
	}
}

func TestGraphMemberOf(t *testing.T) {
	s, _ := small(t)
	for prefix, role := range map[string]string{"admin": GlobalAdminRoleTemplate, "d365admin": DynamicsAdminRoleTemplate, "user": ""} {
		tok, _ := s.UserToken(s.ServiceAccount(prefix).Username, s.GraphURL)
		st, m := getJSON(t, s, s.GraphURL+"/v1.0/me/memberOf", tok)
		if st != 200 {
			t.Fatalf("%s: %d", prefix, st)
		}
		found := ""
		for _, v := range m["value"].([]any) {
			x := v.(map[string]any)
			if x["@odata.type"] == "#microsoft.graph.directoryRole" {
				found = x["roleTemplateId"].(string)
			}
		}
		if found != role {
			t.Fatalf("%s: role %q want %q", prefix, found, role)
		}
	}
}

func TestDisabledEnvironment(t *testing.T) {
	s, _ := small(t)
	d := s.Env("disabled")
	tok, _ := d.Token("")
	r := call(t, d, "GET", "WhoAmI()", nil, "Authorization", "Bearer "+tok)
	want(t, r, 403)
	if s.Env("nodataverse").URL() != "" || s.Env("second").OrgID == s.Demo().OrgID {
		t.Fatal("environment layout")
	}
	// Second environment has different user/team/business unit ids.
	if s.Env("second").SystemUserFor(s.SecretClients()[0].ClientID) == s.Demo().SystemUserFor(s.SecretClients()[0].ClientID) ||
		s.Env("second").IDs("businessunit")[0] == s.Demo().IDs("businessunit")[0] {
		t.Fatal("second environment shares ids with demo")
	}
}
