package infra

import (
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/config"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
)

// Each mutation breaks a copy of the real templates the way a careless edit
// would, and the named check must report it: proof that the checks can fail.
func TestChecksCatchBrokenTemplates(t *testing.T) {
	srcs, err := readTemplateSources(".")
	if err != nil {
		t.Fatal(err)
	}
	conns := []string{messaging.ConnectionSetting}
	checks := map[string]func(*template) []string{
		"modules": checkModules,
		"settings": func(tp *template) []string {
			return checkAppSettings(tp, requiredSettings(), conns, nil, config.TransportServiceBus)
		},
		"queues":   func(tp *template) []string { return checkQueues(tp, messaging.Queues()) },
		"roles":    checkRoles,
		"security": checkSecurity,
		"app":      func(tp *template) []string { return checkFunctionApp(tp, "functions") },
	}
	cases := []struct {
		name, file, old, new, check, want string
	}{
		{"shared keys on", "core/storage/storage-account.bicep", "allowSharedKeyAccess: false", "allowSharedKeyAccess: true", "security", "allowSharedKeyAccess"},
		{"no purge protection", "core/security/key-vault.bicep", "enablePurgeProtection: true", "enablePurgeProtection: false", "security", "enablePurgeProtection"},
		{"no RBAC on vault", "core/security/key-vault.bicep", "enableRbacAuthorization: true", "enableRbacAuthorization: false", "security", "enableRbacAuthorization"},
		{"service bus SAS", "core/messaging/service-bus.bicep", "disableLocalAuth: true", "disableLocalAuth: false", "security", "disableLocalAuth"},
		{"missing KEY_VAULT_URL", "app/function-app.bicep", "  KEY_VAULT_URL: keyVaultUri\n", "", "settings", "KEY_VAULT_URL"},
		{"missing SB clientId", "app/function-app.bicep", "  ServiceBusConnection__clientId: identityClientId\n", "", "settings", "ServiceBusConnection__clientId"},
		{"wrong transport", "app/function-app.bicep", "MESSAGING_TRANSPORT: 'servicebus'", "MESSAGING_TRANSPORT: 'storagequeue'", "settings", "MESSAGING_TRANSPORT"},
		{"queue dropped", "main.bicep", "'files', 'restore']", "'files']", "queues", `"restore"`},
		{"short lock", "main.bicep", "lockDuration: 'PT5M'", "lockDuration: 'PT1M'", "queues", "lockDuration"},
		{"no dedup", "core/messaging/service-bus.bicep", "requiresDuplicateDetection: true", "requiresDuplicateDetection: false", "queues", "requiresDuplicateDetection"},
		{"wrong KV role", "app/rbac.bicep", "keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'", "keyVaultSecretsOfficer: '4633458b-17de-408a-b874-0445c86b69e6'", "roles", "key vault secrets"},
		{"SB owner instead of sender", "app/rbac.bicep", "serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'", "serviceBusDataSender: '090c5cfd-751d-490a-894a-3ce6f1109419'", "roles", "service bus send"},
		{"table role optional", "app/rbac.bicep", "resource identityTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {", "resource identityTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (false) {", "roles", "table"},
		{"metrics role to the user", "app/rbac.bicep", "    principalId: identityPrincipalId\n    principalType: 'ServicePrincipal'\n  }\n}\n\n// Optional", "    principalId: userPrincipalId\n    principalType: 'ServicePrincipal'\n  }\n}\n\n// Optional", "roles", "monitoring"},
		{"module path typo", "main.bicep", "'./app/rbac.bicep'", "'./app/rbac2.bicep'", "modules", "does not exist"},
		{"unknown module param", "main.bicep", "    logLevel: logLevel\n", "    logLevel: logLevel\n    logLevell: logLevel\n", "modules", "logLevell"},
		{"missing output", "main.bicep", "functionApp.outputs.uri}/api", "functionApp.outputs.url}/api", "modules", "no output"},
		{"runtime not custom", "app/function-app.bicep", "name: 'custom'", "name: 'node'", "app", "runtime.name"},
		{"hard-coded scale", "app/function-app.bicep", "maximumInstanceCount: maximumInstanceCount\n      }", "maximumInstanceCount: 100\n      }", "app", "maximumInstanceCount"},
		{"service tag", "app/function-app.bicep", "'azd-service-name': serviceName", "'azd-service-name': 'api'", "app", "azd-service-name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mutated := map[string]string{}
			for k, v := range srcs {
				mutated[k] = v
			}
			if !strings.Contains(mutated[c.file], c.old) {
				t.Fatalf("%s no longer contains %q: update this mutation", c.file, c.old)
			}
			mutated[c.file] = strings.Replace(mutated[c.file], c.old, c.new, 1)
			tpl, parseProblems := newTemplate(mutated)
			if len(parseProblems) > 0 {
				t.Fatalf("mutation broke parsing: %v", parseProblems)
			}
			if before := checks[c.check](mustTemplate(t, srcs)); len(before) != 0 {
				t.Fatalf("check %s fails on the unmodified templates: %v", c.check, before)
			}
			problems := checks[c.check](tpl)
			if !strings.Contains(strings.Join(problems, "\n"), c.want) {
				t.Errorf("check %s did not report %q; got %v", c.check, c.want, problems)
			}
		})
	}
}

func mustTemplate(t *testing.T, srcs map[string]string) *template {
	t.Helper()
	tpl, problems := newTemplate(srcs)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	return tpl
}

func TestParametersFileCheckFails(t *testing.T) {
	srcs, err := readTemplateSources(".")
	if err != nil {
		t.Fatal(err)
	}
	tpl := mustTemplate(t, srcs)
	if p := checkParametersFile(tpl, []string{"environmentName", "location", "noSuchParam"}); !strings.Contains(strings.Join(p, "\n"), "noSuchParam") {
		t.Errorf("unknown parameter not reported: %v", p)
	}
	if p := checkParametersFile(tpl, []string{"location"}); !strings.Contains(strings.Join(p, "\n"), "environmentName") {
		t.Errorf("missing required parameter not reported: %v", p)
	}
}

func TestBalanceChecker(t *testing.T) {
	good := []string{
		"var a = { b: [1, 2] }\n",
		"var s = 'a { not a brace ['\n",
		"var s = '${concat('x', '}')}-{'\n", // braces inside an interpolated string
		"// } comment\nvar a = {}\n/* ] */\n",
		"var m = '''\n{ multi ]\n'''\n",
		"var e = 'it\\'s {'\n",
	}
	for _, src := range good {
		if _, err := parseBicep("good.bicep", src); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
	bad := []string{
		"var a = { b: [1, 2 }\n",
		"var a = {\n",
		"var a = }\n",
		"var s = 'unterminated\n",
		"var s = '${a'\n",
		"/* open comment\n",
	}
	for _, src := range bad {
		if _, err := parseBicep("bad.bicep", src); err == nil {
			t.Errorf("%q: imbalance not reported", src)
		}
	}
}

func TestAzureYAMLCheckFails(t *testing.T) {
	good := "name: x\nservices:\n  functions:\n    project: .\n    dist: dist\n    host: function\n    remoteBuild: false\n    hooks:\n      prepackage:\n        posix:\n          run: make build\n        windows:\n          run: make build\nhooks:\n  postprovision:\n    posix:\n      run: ./infra/scripts/postprovision.sh\n    windows:\n      run: ./infra/scripts/postprovision.ps1\n"
	if _, p := checkAzureYAML(good, repoRoot); len(p) != 0 {
		t.Fatalf("good azure.yaml rejected: %v", p)
	}
	for name, bad := range map[string]string{
		"dist":     strings.Replace(good, "dist: dist", "dist: build", 1),
		"host":     strings.Replace(good, "host: function", "host: appservice", 1),
		"hook":     strings.Replace(good, "run: make build", "run: go build ./...", 1),
		"project":  strings.Replace(good, "project: .", "project: ./src", 1),
		"no hooks": strings.Replace(good, "./infra/scripts/postprovision.sh", "./nope.sh", 1),
	} {
		if _, p := checkAzureYAML(bad, repoRoot); len(p) == 0 {
			t.Errorf("%s: broken azure.yaml accepted", name)
		}
	}
}
