package infra

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/config"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
)

const repoRoot = ".."

func loadInfra(t *testing.T) *template {
	t.Helper()
	srcs, err := readTemplateSources(".")
	if err != nil {
		t.Fatal(err)
	}
	tpl, problems := newTemplate(srcs)
	for _, p := range problems {
		t.Error(p)
	}
	if len(tpl.Files) == 0 {
		t.Fatal("no .bicep files under infra/")
	}
	return tpl
}

func report(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Error(p)
	}
}

func requiredSettings() []string {
	var out []string
	for _, s := range config.Settings() {
		if s.RequiredInAzure {
			out = append(out, s.Name)
		}
	}
	return out
}

// functionBindings reads ../functions/*/function.json: the Service Bus
// connection names, queue names and %SETTING% placeholders they use.
func functionBindings(t *testing.T) (connections, queues, placeholders []string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(repoRoot, "functions", "*", "function.json"))
	if len(files) == 0 {
		t.Log("no functions/*/function.json yet: checking messaging.ConnectionSetting only")
	}
	placeholderRE := regexp.MustCompile(`%([A-Za-z0-9_]+)%`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var fj struct {
			Bindings []map[string]any `json:"bindings"`
		}
		if err := json.Unmarshal(b, &fj); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, b := range fj.Bindings {
			typ, _ := b["type"].(string)
			if strings.HasPrefix(strings.ToLower(typ), "servicebus") {
				conn, _ := b["connection"].(string)
				if conn == "" {
					t.Errorf("%s: %s binding has no connection (the host would look for AzureWebJobsServiceBus)", f, typ)
				} else if !slices.Contains(connections, conn) {
					connections = append(connections, conn)
				}
				if q, _ := b["queueName"].(string); q != "" && !slices.Contains(queues, q) {
					queues = append(queues, q)
				}
			}
			for _, v := range b {
				if s, ok := v.(string); ok {
					for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
						if !slices.Contains(placeholders, m[1]) {
							placeholders = append(placeholders, m[1])
						}
					}
				}
			}
		}
	}
	return connections, queues, placeholders
}

func TestBicepFilesParseAndBalance(t *testing.T) {
	tpl := loadInfra(t)
	for _, want := range []string{"main.bicep", "app/function-app.bicep", "app/rbac.bicep"} {
		if _, ok := tpl.Files[want]; !ok {
			t.Errorf("infra/%s is missing", want)
		}
	}
}

func TestModulesResolve(t *testing.T) {
	report(t, checkModules(loadInfra(t)))
}

func parameterNames(t *testing.T, src []byte) []string {
	t.Helper()
	var pf struct {
		Parameters map[string]json.RawMessage `json:"parameters"`
	}
	if err := json.Unmarshal(src, &pf); err != nil {
		t.Fatalf("main.parameters.json: %v", err)
	}
	var names []string
	for n := range pf.Parameters {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func TestParametersFileMatchesMain(t *testing.T) {
	b, err := os.ReadFile("main.parameters.json")
	if err != nil {
		t.Fatal(err)
	}
	report(t, checkParametersFile(loadInfra(t), parameterNames(t, b)))
	if _, err := os.ReadFile("abbreviations.json"); err != nil {
		t.Error(err)
	}
}

func TestAppSettingsCoverConfig(t *testing.T) {
	conns, _, placeholders := functionBindings(t)
	if !slices.Contains(conns, messaging.ConnectionSetting) {
		conns = append(conns, messaging.ConnectionSetting)
	}
	report(t, checkAppSettings(loadInfra(t), requiredSettings(), conns, placeholders, config.TransportServiceBus))
}

func TestQueuesDeclared(t *testing.T) {
	_, used, _ := functionBindings(t)
	for _, q := range used {
		if !slices.Contains(messaging.Queues(), q) {
			t.Errorf("a function.json triggers on queue %q, which messaging.Queues() does not list", q)
		}
	}
	report(t, checkQueues(loadInfra(t), messaging.Queues()))
}

func TestRoleAssignmentsPerDataPlane(t *testing.T) {
	report(t, checkRoles(loadInfra(t)))
}

func TestSecurityBaseline(t *testing.T) {
	report(t, checkSecurity(loadInfra(t)))
}

func TestFunctionAppAndAzureYAML(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "azure.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	service, problems := checkAzureYAML(string(b), repoRoot)
	report(t, problems)
	report(t, checkFunctionApp(loadInfra(t), service))

	// When make build has run, dist/ must be a deployable package.
	dist := filepath.Join(repoRoot, "dist")
	if _, err := os.Stat(dist); err != nil {
		t.Log("dist/ absent (make build not run): checked azure.yaml paths only")
		return
	}
	for _, f := range []string{"host.json", "handler"} {
		if _, err := os.Stat(filepath.Join(dist, f)); err != nil {
			t.Errorf("dist/%s: %v", f, err)
		}
	}
	fns, _ := filepath.Glob(filepath.Join(dist, "*", "function.json"))
	if len(fns) == 0 {
		t.Error("dist/ holds no <Function>/function.json")
	}
}

func TestEasyAuthAppRoles(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("app", "app-roles.json"))
	if err != nil {
		t.Fatal(err)
	}
	var roles []struct {
		ID, Value string
		IsEnabled bool `json:"isEnabled"`
	}
	if err := json.Unmarshal(b, &roles); err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, r := range roles {
		values = append(values, r.Value)
		if !guidRE.MatchString(r.ID) || !r.IsEnabled {
			t.Errorf("app role %s: needs a GUID id and isEnabled", r.Value)
		}
	}
	for _, want := range []string{"Backup.Reader", "Backup.Operator", "Restore.Operator", "Backup.Admin"} {
		if !slices.Contains(values, want) {
			t.Errorf("app-roles.json lacks app role %s", want)
		}
	}
	tpl := loadInfra(t)
	found := false
	for _, d := range tpl.resources("Microsoft.Web/sites/config") {
		if unquote(d.Body.GetText("name")) == "authsettingsV2" {
			found = true
			if d.Cond == "" {
				t.Error("authsettingsV2 must be optional (if (enableAuth))")
			}
			if d.Body.GetText("properties.globalValidation.requireAuthentication") != "true" {
				t.Error("authsettingsV2 must require authentication")
			}
		}
	}
	if !found {
		t.Error("no authsettingsV2 (App Service Authentication) resource")
	}
}
