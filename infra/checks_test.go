package infra

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// template is the set of Bicep files under infra/, keyed by slash path
// relative to infra/ (e.g. "app/rbac.bicep").
type template struct {
	Files map[string]*bicepFile
}

// readTemplateSources reads every .bicep file under dir.
func readTemplateSources(dir string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".bicep") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	return out, err
}

// newTemplate parses sources; every parse error is returned.
func newTemplate(srcs map[string]string) (*template, []string) {
	t := &template{Files: map[string]*bicepFile{}}
	var problems []string
	for p, s := range srcs {
		f, err := parseBicep(p, s)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		t.Files[p] = f
	}
	return t, problems
}

// declIn is a declaration with the file it lives in.
type declIn struct {
	decl
	File *bicepFile
}

func (t *template) sortedFiles() []*bicepFile {
	var names []string
	for n := range t.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []*bicepFile
	for _, n := range names {
		out = append(out, t.Files[n])
	}
	return out
}

// resources returns the non-existing resource declarations of a type.
func (t *template) resources(typ string) []declIn {
	var out []declIn
	for _, f := range t.sortedFiles() {
		for _, d := range f.decls() {
			if d.Kind == "resource" && !d.Existing && strings.EqualFold(d.Type, typ) {
				out = append(out, declIn{d, f})
			}
		}
	}
	return out
}

// moduleTarget is the template path a module declaration points to.
func moduleTarget(from *bicepFile, d decl) string {
	return path.Clean(path.Join(path.Dir(from.Path), d.Type))
}

// callers returns the module declarations (anywhere) that deploy file p.
func (t *template) callers(p string) []declIn {
	var out []declIn
	for _, f := range t.sortedFiles() {
		for _, d := range f.decls() {
			if d.Kind == "module" && moduleTarget(f, d) == p {
				out = append(out, declIn{d, f})
			}
		}
	}
	return out
}

// effective resolves a value: a var, a param default, or, for a module param,
// the value its single caller passes (resolved in the caller).
func (t *template) effective(v span) span {
	for range 6 {
		text := v.Text()
		if !identRE.MatchString(text) {
			return v
		}
		if val, ok := v.F.vars()[text]; ok {
			v = val
			continue
		}
		p, ok := v.F.params()[text]
		if !ok {
			return v
		}
		if calls := t.callers(v.F.Path); len(calls) == 1 {
			if params, ok := calls[0].Body.Get("params"); ok {
				if arg, ok := params.Get(text); ok {
					v = arg
					continue
				}
			}
		}
		if p.HasDefault {
			v = p.Default
			continue
		}
		return v
	}
	return v
}

// effectiveText is effective on the value at path in obj ("" when absent).
func (t *template) effectiveText(obj span, path string) string {
	v, ok := obj.Get(path)
	if !ok {
		return ""
	}
	return t.effective(v).Text()
}

func unquote(s string) string { return strings.Trim(strings.TrimSpace(s), "'") }

// checkModules: local module files exist, registry modules are pinned to an
// exact version, every param passed exists in the target, every required
// target param is passed, and every <module>.outputs.X exists.
func checkModules(t *template) []string {
	var problems []string
	pinned := regexp.MustCompile(`:\d+\.\d+\.\d+$`)
	for _, f := range t.sortedFiles() {
		mods := map[string]string{}
		for _, d := range f.decls() {
			if d.Kind != "module" {
				continue
			}
			if strings.HasPrefix(d.Type, "br/") || strings.HasPrefix(d.Type, "br:") {
				if !pinned.MatchString(d.Type) {
					problems = append(problems, fmt.Sprintf("%s: module %s: registry module %q is not pinned to an exact version", f.Path, d.Symbol, d.Type))
				}
				continue
			}
			target := moduleTarget(f, d)
			tf, ok := t.Files[target]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: module %s: %q does not exist (resolved to infra/%s)", f.Path, d.Symbol, d.Type, target))
				continue
			}
			mods[d.Symbol] = target
			declared := tf.params()
			passed := map[string]bool{}
			if params, ok := d.Body.Get("params"); ok {
				for _, e := range params.Entries() {
					passed[e.Key] = true
					if _, ok := declared[e.Key]; !ok {
						problems = append(problems, fmt.Sprintf("%s: module %s passes param %q that %s does not declare", f.Path, d.Symbol, e.Key, target))
					}
				}
			}
			for name, p := range declared {
				if !p.HasDefault && !strings.HasSuffix(p.Type, "?") && !passed[name] {
					problems = append(problems, fmt.Sprintf("%s: module %s does not pass required param %q of %s", f.Path, d.Symbol, name, target))
				}
			}
		}
		outRef := regexp.MustCompile(`\b([A-Za-z_][A-Za-z0-9_]*)\.\??outputs\.([A-Za-z_][A-Za-z0-9_]*)`)
		for _, m := range outRef.FindAllStringSubmatch(f.Code, -1) {
			target, ok := mods[m[1]]
			if !ok {
				continue
			}
			if !t.Files[target].outputs()[m[2]] {
				problems = append(problems, fmt.Sprintf("%s: %s.outputs.%s: %s has no output %q", f.Path, m[1], m[2], target, m[2]))
			}
		}
	}
	return problems
}

// checkParametersFile: every parameter in main.parameters.json is a param of
// main.bicep, and every main.bicep param without a default is given.
func checkParametersFile(t *template, parameterNames []string) []string {
	var problems []string
	main, ok := t.Files["main.bicep"]
	if !ok {
		return []string{"infra/main.bicep is missing"}
	}
	declared := main.params()
	for _, n := range parameterNames {
		if _, ok := declared[n]; !ok {
			problems = append(problems, fmt.Sprintf("main.parameters.json sets %q, which main.bicep does not declare", n))
		}
	}
	for n, p := range declared {
		if !p.HasDefault && !slices.Contains(parameterNames, n) {
			problems = append(problems, fmt.Sprintf("main.bicep param %q has no default and is not in main.parameters.json", n))
		}
	}
	if !regexp.MustCompile(`(?m)^targetScope\s*=\s*'subscription'`).MatchString(main.Src) {
		problems = append(problems, "main.bicep: targetScope is not 'subscription'")
	}
	if len(t.resources("Microsoft.Resources/resourceGroups")) == 0 {
		problems = append(problems, "main.bicep creates no resource group")
	}
	return problems
}

// appSettings returns the Function App's app settings (key -> value text) and
// the file declaring them.
func (t *template) appSettings() (map[string]string, *bicepFile, []string) {
	var found []declIn
	for _, d := range t.resources("Microsoft.Web/sites/config") {
		if unquote(d.Body.GetText("name")) == "appsettings" {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		return nil, nil, []string{fmt.Sprintf("want exactly one Microsoft.Web/sites/config resource named 'appsettings', found %d", len(found))}
	}
	d := found[0]
	props, ok := d.Body.Get("properties")
	if !ok {
		return nil, nil, []string{d.File.Path + ": appsettings has no properties"}
	}
	settings := map[string]string{}
	add := func(obj span) {
		for _, e := range obj.Entries() {
			settings[e.Key] = e.Val.Text()
		}
	}
	if obj, ok := props.Object(); ok {
		add(obj)
	} else {
		// union(a, b, ...) of vars holding object literals
		for _, id := range regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`).FindAllString(props.code(), -1) {
			if v, ok := d.File.vars()[id]; ok {
				if obj, ok := v.Object(); ok {
					add(obj)
				}
			}
		}
	}
	return settings, d.File, nil
}

// checkAppSettings: every required setting is set (non-empty), every Service
// Bus connection has identity settings with credential managedidentity and the
// identity's client id, transport is servicebus, storage is identity-based, no
// connection strings and no settings Flex Consumption rejects. placeholders are
// %NAME% app settings the function.json files reference.
func checkAppSettings(t *template, required, connections, placeholders []string, transport string) []string {
	settings, f, problems := t.appSettings()
	if problems != nil {
		return problems
	}
	for _, name := range required {
		if v, ok := settings[name]; !ok || v == "" || v == "''" {
			problems = append(problems, fmt.Sprintf("%s: app setting %s (RequiredInAzure in shared/config) is not set on the Function App", f.Path, name))
		}
	}
	for _, name := range placeholders {
		if _, ok := settings[name]; !ok {
			problems = append(problems, fmt.Sprintf("%s: app setting %s (referenced as %%%s%% in a function.json) is not set", f.Path, name, name))
		}
	}
	clientID := settings["AZURE_CLIENT_ID"]
	if clientID == "" {
		problems = append(problems, f.Path+": AZURE_CLIENT_ID is not set")
	}
	for _, conn := range append([]string{"AzureWebJobsStorage"}, connections...) {
		if _, ok := settings[conn]; ok {
			problems = append(problems, fmt.Sprintf("%s: %s is set as a connection string; use %s__* identity settings", f.Path, conn, conn))
		}
		if conn != "AzureWebJobsStorage" {
			if _, ok := settings[conn+"__fullyQualifiedNamespace"]; !ok {
				problems = append(problems, fmt.Sprintf("%s: connection %s has no %s__fullyQualifiedNamespace", f.Path, conn, conn))
			}
		} else if _, ok := settings[conn+"__accountName"]; !ok {
			problems = append(problems, fmt.Sprintf("%s: %s__accountName is not set", f.Path, conn))
		}
		if v, ok := settings[conn+"__credential"]; !ok || unquote(v) != "managedidentity" {
			problems = append(problems, fmt.Sprintf("%s: connection %s has no %s__credential = 'managedidentity'", f.Path, conn, conn))
		}
		if v, ok := settings[conn+"__clientId"]; !ok || v != clientID {
			problems = append(problems, fmt.Sprintf("%s: connection %s has no %s__clientId equal to AZURE_CLIENT_ID (%s)", f.Path, conn, conn, clientID))
		}
	}
	if v := unquote(settings["MESSAGING_TRANSPORT"]); v != transport {
		problems = append(problems, fmt.Sprintf("%s: MESSAGING_TRANSPORT is %q, want %q in Azure", f.Path, v, transport))
	}
	if _, ok := settings["APPLICATIONINSIGHTS_CONNECTION_STRING"]; !ok {
		problems = append(problems, f.Path+": APPLICATIONINSIGHTS_CONNECTION_STRING is not set")
	}
	if v := settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]; !strings.Contains(v, "Authorization=AAD") || !strings.Contains(v, "ClientId=") {
		problems = append(problems, f.Path+": APPLICATIONINSIGHTS_AUTHENTICATION_STRING must be 'ClientId=<identity client id>;Authorization=AAD'")
	}
	for _, banned := range []string{"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE", "APPINSIGHTS_INSTRUMENTATIONKEY"} {
		if _, ok := settings[banned]; ok {
			problems = append(problems, fmt.Sprintf("%s: %s must not be set on a Flex Consumption app", f.Path, banned))
		}
	}
	return problems
}

// checkQueues: the Service Bus queues declared are exactly queues, with the
// settings the handler relies on.
func checkQueues(t *template, queues []string) []string {
	decls := t.resources("Microsoft.ServiceBus/namespaces/queues")
	if len(decls) == 0 {
		return []string{"no Microsoft.ServiceBus/namespaces/queues resource is declared"}
	}
	var problems []string
	var declared []string
	for _, d := range decls {
		if d.Loop {
			arr, ok := t.effective(d.LoopSrc).Array()
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: queue loop over %q does not resolve to an array literal", d.File.Path, d.LoopSrc.Text()))
				continue
			}
			declared = append(declared, arr.Strings()...)
		} else {
			declared = append(declared, unquote(t.effectiveText(d.Body, "name")))
		}
		want := map[string]string{
			"lockDuration":                     "'PT5M'",
			"maxDeliveryCount":                 "10",
			"deadLetteringOnMessageExpiration": "true",
			"requiresDuplicateDetection":       "true",
		}
		for k, v := range want {
			got := t.effectiveText(d.Body, "properties."+k)
			if got != v {
				problems = append(problems, fmt.Sprintf("%s: queue properties.%s is %q, want %s", d.File.Path, k, got, v))
			}
		}
		for _, k := range []string{"duplicateDetectionHistoryTimeWindow", "defaultMessageTimeToLive"} {
			if got := t.effectiveText(d.Body, "properties."+k); !strings.HasPrefix(got, "'P") {
				problems = append(problems, fmt.Sprintf("%s: queue properties.%s is %q, want an ISO 8601 duration", d.File.Path, k, got))
			}
		}
	}
	for _, q := range queues {
		if !slices.Contains(declared, q) {
			problems = append(problems, fmt.Sprintf("queue %q (messaging.Queues()) is not declared in Bicep (declared: %v)", q, declared))
		}
	}
	for _, q := range declared {
		if !slices.Contains(queues, q) {
			problems = append(problems, fmt.Sprintf("Bicep declares queue %q, which messaging.Queues() does not list", q))
		}
	}
	return problems
}

// Role definition ids (azure-functions-reference.md section 2).
const (
	roleBlobOwner       = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
	roleBlobContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
	roleQueueContrib    = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
	roleTableContrib    = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
	roleSBSender        = "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"
	roleSBReceiver      = "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"
	roleKVSecretsOff    = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
	roleMetricsPub      = "3913510d-42f4-4e42-8a64-420c390055eb"
)

// plane is one data plane the code uses and the roles that grant it.
type plane struct {
	Name  string
	Roles []string
	Scope string // resource type prefix the assignment must be scoped to
}

var planes = []plane{
	{"blob (backups, deployment package, host)", []string{roleBlobOwner, roleBlobContributor}, "Microsoft.Storage/storageAccounts"},
	{"queue (Functions host)", []string{roleQueueContrib}, "Microsoft.Storage/storageAccounts"},
	{"table (state)", []string{roleTableContrib}, "Microsoft.Storage/storageAccounts"},
	{"service bus send", []string{roleSBSender}, "Microsoft.ServiceBus/namespaces"},
	{"service bus receive", []string{roleSBReceiver}, "Microsoft.ServiceBus/namespaces"},
	{"key vault secrets", []string{roleKVSecretsOff}, "Microsoft.KeyVault/vaults"},
	{"monitoring (App Insights, AAD auth)", []string{roleMetricsPub}, "Microsoft.Insights/components"},
}

// assignment is a role assignment as read from the text.
type assignment struct {
	File, Symbol string
	RoleID       string
	ScopeType    string
	Identity     bool // principal is the Function App's user-assigned identity
	Conditional  bool
}

var guidRE = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

func (t *template) assignments() []assignment {
	// Files and symbols of user-assigned identities.
	identityFiles := map[string]bool{}
	for _, d := range t.resources("Microsoft.ManagedIdentity/userAssignedIdentities") {
		identityFiles[d.File.Path] = true
	}
	var out []assignment
	for _, d := range t.resources("Microsoft.Authorization/roleAssignments") {
		a := assignment{File: d.File.Path, Symbol: d.Symbol, Conditional: d.Cond != "" && strings.TrimSpace(d.Cond) != "true"}
		roleText := d.Body.GetText("properties.roleDefinitionId")
		if m := guidRE.FindString(roleText); m != "" {
			a.RoleID = m
		} else if m := regexp.MustCompile(`\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)\b`).FindAllStringSubmatch(roleText, -1); m != nil {
			for _, ref := range m {
				if v, ok := d.File.vars()[ref[1]]; ok {
					if obj, ok := v.Object(); ok {
						if g := guidRE.FindString(obj.GetText(ref[2])); g != "" {
							a.RoleID = g
						}
					}
				}
			}
		}
		scope := d.Body.GetText("scope")
		for _, o := range d.File.decls() {
			if o.Symbol == scope {
				a.ScopeType = o.Type
			}
		}
		principal := d.Body.GetText("properties.principalId")
		// Same file: <identity>.properties.principalId
		for _, o := range d.File.decls() {
			if o.Type == "Microsoft.ManagedIdentity/userAssignedIdentities" && strings.HasPrefix(principal, o.Symbol+".") {
				a.Identity = true
			}
		}
		// Module param fed with <identityModule>.outputs.principalId by every caller.
		if _, ok := d.File.params()[principal]; ok {
			calls := t.callers(d.File.Path)
			a.Identity = len(calls) > 0
			for _, c := range calls {
				arg := ""
				if params, ok := c.Body.Get("params"); ok {
					arg = params.GetText(principal)
				}
				fed := false
				for _, o := range c.File.decls() {
					if o.Kind == "module" && identityFiles[moduleTarget(c.File, o)] && arg == o.Symbol+".outputs.principalId" {
						fed = true
					}
				}
				a.Identity = a.Identity && fed
			}
		}
		out = append(out, a)
	}
	return out
}

// checkRoles: each data plane has an unconditional assignment of the right
// role to the identity at the right scope; the identity holds no other role;
// assignments to other principals are optional (conditional).
func checkRoles(t *template) []string {
	var problems []string
	as := t.assignments()
	allowed := map[string]bool{}
	for _, p := range planes {
		for _, r := range p.Roles {
			allowed[r] = true
		}
	}
	for _, p := range planes {
		ok := false
		for _, a := range as {
			if a.Identity && !a.Conditional && slices.Contains(p.Roles, a.RoleID) && strings.HasPrefix(a.ScopeType, p.Scope) {
				ok = true
			}
		}
		if !ok {
			problems = append(problems, fmt.Sprintf("data plane %s: no unconditional role assignment of %v to the Function App identity scoped to a %s", p.Name, p.Roles, p.Scope))
		}
	}
	for _, a := range as {
		switch {
		case a.RoleID == "":
			problems = append(problems, fmt.Sprintf("%s: role assignment %s: role definition id not found", a.File, a.Symbol))
		case a.ScopeType == "":
			problems = append(problems, fmt.Sprintf("%s: role assignment %s: not scoped to a resource (least privilege)", a.File, a.Symbol))
		case a.Identity && !allowed[a.RoleID]:
			problems = append(problems, fmt.Sprintf("%s: role assignment %s gives the identity role %s, which no data plane the code uses needs", a.File, a.Symbol, a.RoleID))
		case !a.Identity && !a.Conditional:
			problems = append(problems, fmt.Sprintf("%s: role assignment %s is for another principal and is not optional (if (...))", a.File, a.Symbol))
		}
	}
	return problems
}

// checkSecurity: storage without shared keys, Key Vault with RBAC and purge
// protection, Service Bus and App Insights without local auth, no keys
// anywhere.
func checkSecurity(t *template) []string {
	var problems []string
	expect := func(typ, path, want, why string) {
		ds := t.resources(typ)
		if len(ds) == 0 {
			problems = append(problems, fmt.Sprintf("no %s resource is declared", typ))
		}
		for _, d := range ds {
			if got := d.Body.GetText(path); got != want {
				problems = append(problems, fmt.Sprintf("%s: %s %s: %s is %q, want %s (%s)", d.File.Path, typ, d.Symbol, path, got, want, why))
			}
		}
	}
	expect("Microsoft.Storage/storageAccounts", "properties.allowSharedKeyAccess", "false", "no shared keys")
	expect("Microsoft.Storage/storageAccounts", "properties.minimumTlsVersion", "'TLS1_2'", "TLS 1.2")
	expect("Microsoft.Storage/storageAccounts", "properties.allowBlobPublicAccess", "false", "no anonymous blobs")
	expect("Microsoft.KeyVault/vaults", "properties.enableRbacAuthorization", "true", "RBAC, no access policies")
	expect("Microsoft.KeyVault/vaults", "properties.enablePurgeProtection", "true", "purge protection")
	expect("Microsoft.ServiceBus/namespaces", "properties.disableLocalAuth", "true", "no SAS keys")
	expect("Microsoft.Insights/components", "properties.DisableLocalAuth", "true", "AAD-only telemetry")
	for _, d := range t.resources("Microsoft.KeyVault/vaults") {
		if d.Body.GetText("properties.accessPolicies") != "" {
			problems = append(problems, d.File.Path+": Key Vault declares accessPolicies; use RBAC only")
		}
	}
	for _, f := range t.sortedFiles() {
		for _, bad := range []string{"listKeys(", "listConnectionStrings(", "AccountKey=", "SharedAccessKey"} {
			if strings.Contains(f.Src, bad) {
				problems = append(problems, fmt.Sprintf("%s: uses %s; everything must go through Entra ID", f.Path, bad))
			}
		}
	}
	// Containers, tables, immutability and lifecycle by parameters.
	var containers []string
	for _, d := range t.resources("Microsoft.Storage/storageAccounts/blobServices/containers") {
		containers = append(containers, unquote(t.effectiveText(d.Body, "name")))
	}
	for _, c := range []string{"backups", "deployment"} {
		if !slices.Contains(containers, c) {
			problems = append(problems, fmt.Sprintf("blob container %q is not declared (declared: %v)", c, containers))
		}
	}
	if len(t.resources("Microsoft.Storage/storageAccounts/tableServices")) == 0 {
		problems = append(problems, "no table service is declared")
	}
	for _, typ := range []string{"Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies", "Microsoft.Storage/storageAccounts/managementPolicies"} {
		ds := t.resources(typ)
		if len(ds) == 0 || ds[0].Cond == "" {
			problems = append(problems, fmt.Sprintf("%s must be declared and turned on by a parameter (if (...))", typ))
		}
	}
	for _, f := range t.sortedFiles() {
		if strings.Contains(f.Src, "managementPolicies@") && (!strings.Contains(f.Code, "tierToCool:") || !strings.Contains(f.Code, "tierToCold:")) {
			problems = append(problems, f.Path+": lifecycle rules must move backups to cool and cold")
		}
	}
	return problems
}

// checkFunctionApp: Flex Consumption, runtime custom, memory and instance
// count from main.bicep params, identity-based deployment storage, and the azd
// service tag.
func checkFunctionApp(t *template, serviceName string) []string {
	var problems []string
	plans := t.resources("Microsoft.Web/serverfarms")
	if len(plans) != 1 || unquote(plans[0].Body.GetText("sku.name")) != "FC1" || unquote(plans[0].Body.GetText("sku.tier")) != "FlexConsumption" {
		problems = append(problems, "want one Microsoft.Web/serverfarms with sku FC1 / FlexConsumption")
	}
	sites := t.resources("Microsoft.Web/sites")
	if len(sites) != 1 {
		return append(problems, fmt.Sprintf("want one Microsoft.Web/sites, found %d", len(sites)))
	}
	s := sites[0]
	want := map[string]string{
		"kind": "'functionapp,linux'",
		"properties.functionAppConfig.runtime.name":                           "'custom'",
		"properties.functionAppConfig.deployment.storage.type":                "'blobContainer'",
		"properties.functionAppConfig.deployment.storage.authentication.type": "'UserAssignedIdentity'",
		"identity.type": "'UserAssigned'",
	}
	for p, v := range want {
		if got := s.Body.GetText(p); got != v {
			problems = append(problems, fmt.Sprintf("%s: site %s is %q, want %s", s.File.Path, p, got, v))
		}
	}
	main := t.Files["main.bicep"]
	for _, p := range []string{"instanceMemoryMB", "maximumInstanceCount"} {
		text := s.Body.GetText("properties.functionAppConfig.scaleAndConcurrency." + p)
		if _, ok := s.File.params()[text]; !ok {
			problems = append(problems, fmt.Sprintf("%s: scaleAndConcurrency.%s is %q, want a param", s.File.Path, p, text))
			continue
		}
		if main == nil {
			continue
		}
		if _, ok := main.params()[p]; !ok {
			problems = append(problems, fmt.Sprintf("main.bicep has no param %s", p))
		}
		for _, c := range t.callers(s.File.Path) {
			if params, ok := c.Body.Get("params"); !ok || params.GetText(text) != p {
				problems = append(problems, fmt.Sprintf("%s: module %s does not pass %s: %s", c.File.Path, c.Symbol, text, p))
			}
		}
	}
	tagValue := ""
	if tags, ok := s.Body.Get("tags"); ok {
		// tags: union(tags, { 'azd-service-name': serviceName }) or an object literal
		for i := tags.Start; i < tags.End; i++ {
			if s.File.Code[i] != '{' {
				continue
			}
			if obj, ok := (span{s.File, i, tags.End}).Object(); ok {
				if v, ok := obj.Get("azd-service-name"); ok {
					tagValue = unquote(t.effective(v).Text())
				}
			}
			break
		}
	}
	if tagValue != serviceName {
		problems = append(problems, fmt.Sprintf("%s: site tag azd-service-name is %q, azure.yaml service is %q", s.File.Path, tagValue, serviceName))
	}
	if main != nil && !main.outputs()["AZURE_FUNCTION_APP_NAME"] {
		problems = append(problems, "main.bicep has no output AZURE_FUNCTION_APP_NAME")
	}
	return problems
}

// yamlNode is a tiny YAML subset: nested maps of scalars (enough for azure.yaml).
type yamlNode struct {
	Value    string
	Children map[string]*yamlNode
}

func (n *yamlNode) get(path string) *yamlNode {
	cur := n
	for _, k := range strings.Split(path, ".") {
		if cur == nil || cur.Children == nil {
			return nil
		}
		cur = cur.Children[k]
	}
	return cur
}

func (n *yamlNode) str(path string) string {
	if c := n.get(path); c != nil {
		return c.Value
	}
	return ""
}

func parseYAML(src string) (*yamlNode, error) {
	root := &yamlNode{Children: map[string]*yamlNode{}}
	type level struct {
		indent int
		node   *yamlNode
	}
	stack := []level{{-1, root}}
	for i, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasPrefix(trimmed, "- ") {
			return nil, fmt.Errorf("line %d: lists are not supported by this reader", i+1)
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		key, val, ok := strings.Cut(trimmed, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: not key: value", i+1)
		}
		for stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		parent := stack[len(stack)-1].node
		if parent.Children == nil {
			parent.Children = map[string]*yamlNode{}
		}
		val = strings.TrimSpace(val)
		if j := strings.Index(val, " #"); j >= 0 {
			val = strings.TrimSpace(val[:j])
		}
		n := &yamlNode{Value: strings.Trim(val, `"'`)}
		parent.Children[strings.TrimSpace(key)] = n
		stack = append(stack, level{indent, n})
	}
	return root, nil
}

// checkAzureYAML: one function service whose project+dist is dist/ (what make
// build assembles), prepackage runs make build, postprovision hooks exist.
// repo is the repository root; distWant the folder make build produces.
func checkAzureYAML(src, repo string) (service string, problems []string) {
	y, err := parseYAML(src)
	if err != nil {
		return "", []string{"azure.yaml: " + err.Error()}
	}
	services := y.get("services")
	if services == nil || len(services.Children) != 1 {
		return "", []string{"azure.yaml: want exactly one service"}
	}
	for name, s := range services.Children {
		service = name
		if s.str("host") != "function" {
			problems = append(problems, fmt.Sprintf("azure.yaml: service %s host is %q, want function", name, s.str("host")))
		}
		if s.str("remoteBuild") != "false" {
			problems = append(problems, "azure.yaml: remoteBuild must be false (the package is built locally)")
		}
		dist := filepath.Clean(filepath.Join(repo, s.str("project"), s.str("dist")))
		if dist != filepath.Join(repo, "dist") {
			problems = append(problems, fmt.Sprintf("azure.yaml: service %s packages %s, but make build assembles %s", name, dist, filepath.Join(repo, "dist")))
		}
		for _, osName := range []string{"posix", "windows"} {
			if run := s.str("hooks.prepackage." + osName + ".run"); !strings.Contains(run, "make build") {
				problems = append(problems, fmt.Sprintf("azure.yaml: service %s prepackage.%s hook runs %q, want make build", name, osName, run))
			}
		}
	}
	for _, osName := range []string{"posix", "windows"} {
		run := y.str("hooks.postprovision." + osName + ".run")
		if run == "" {
			problems = append(problems, "azure.yaml: no postprovision."+osName+" hook")
			continue
		}
		if _, err := os.Stat(filepath.Join(repo, run)); err != nil {
			problems = append(problems, fmt.Sprintf("azure.yaml: postprovision.%s hook %s: %v", osName, run, err))
		}
	}
	return service, problems
}
