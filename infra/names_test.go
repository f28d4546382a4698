package infra

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/audit"
	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// codeTables are every Table Storage table the app reads or writes.
func codeTables() []string {
	t := []string{connections.TableConnections, connections.TableEnvironments, audit.Table}
	t = append(t, runstate.Tables()...)
	return append(t, restore.Tables()...)
}

// codeContainers are every blob container the app reads or writes.
func codeContainers() []string {
	return []string{backupformat.ContainerBackups, backupformat.ContainerFiles, restore.Container}
}

// declaredNames collects the names of resources of typ, following loops to
// their array literal and names to vars, params and module arguments.
func declaredNames(t *template, typ string) (names, problems []string) {
	for _, d := range t.resources(typ) {
		if d.Loop {
			arr, ok := t.effective(d.LoopSrc).Array()
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: loop over %q does not resolve to an array literal", d.File.Path, d.LoopSrc.Text()))
				continue
			}
			names = append(names, arr.Strings()...)
			continue
		}
		names = append(names, unquote(t.effectiveText(d.Body, "name")))
	}
	return names, problems
}

// checkStorageNames fails for any table or container the code uses that the
// templates do not declare: in Azure the identity could create them, but a
// declared resource is what the immutability and lifecycle rules apply to,
// and a missing one shows the templates fell behind the code.
func checkStorageNames(t *template, tables, containers []string) []string {
	var problems []string
	declTables, p := declaredNames(t, "Microsoft.Storage/storageAccounts/tableServices/tables")
	problems = append(problems, p...)
	declContainers, p := declaredNames(t, "Microsoft.Storage/storageAccounts/blobServices/containers")
	problems = append(problems, p...)
	for _, n := range tables {
		if !slices.Contains(declTables, n) {
			problems = append(problems, fmt.Sprintf("table %q used by the code is not declared (declared: %v)", n, declTables))
		}
	}
	for _, n := range containers {
		if !slices.Contains(declContainers, n) {
			problems = append(problems, fmt.Sprintf("container %q used by the code is not declared (declared: %v)", n, declContainers))
		}
	}
	return problems
}

// checkMaxDelivery fails when the handler is told another max delivery count
// than the queues have: the engine's last-delivery handling would then never
// run (messages dead-lettered first) or run too early.
func checkMaxDelivery(t *template) []string {
	settings, file, _ := t.appSettings()
	told := settings["BACKUP_MAX_DELIVERY_COUNT"]
	if told == "" || file == nil {
		return []string{"BACKUP_MAX_DELIVERY_COUNT is not set on the Function App"}
	}
	// string(x) in the app settings: resolve x in the app settings' file,
	// through the module argument its caller passes.
	name := strings.TrimSuffix(strings.TrimPrefix(told, "string("), ")")
	app := name
	if _, ok := file.params()[name]; ok {
		for _, c := range t.callers(file.Path) {
			if params, ok := c.Body.Get("params"); ok {
				if arg, ok := params.Get(name); ok {
					app = t.effective(arg).Text()
				}
			}
		}
	}
	var problems []string
	for _, q := range t.resources("Microsoft.ServiceBus/namespaces/queues") {
		queue := t.effectiveText(q.Body, "properties.maxDeliveryCount")
		if queue == "" || app != queue {
			problems = append(problems, fmt.Sprintf("queues have maxDeliveryCount %q but the handler is told %q", queue, app))
		}
	}
	return problems
}

func TestStorageNamesDeclared(t *testing.T) {
	report(t, checkStorageNames(loadInfra(t), codeTables(), codeContainers()))
}

func TestMaxDeliveryCountMatchesQueues(t *testing.T) {
	report(t, checkMaxDelivery(loadInfra(t)))
}

// The checks above must be able to fail.
func TestStorageAndDeliveryChecksFail(t *testing.T) {
	tp := loadInfra(t)
	if p := checkStorageNames(tp, []string{"nosuchtable"}, []string{"nosuchcontainer"}); len(p) != 2 {
		t.Errorf("unknown names not reported: %v", p)
	}
	srcs, err := readTemplateSources(".")
	if err != nil {
		t.Fatal(err)
	}
	main := srcs["main.bicep"]
	broken := strings.Replace(main, "'tabletasks', ", "", 1)
	broken = strings.Replace(broken, "    maxDeliveryCount: maxDeliveryCount\n", "    maxDeliveryCount: 7\n", 1)
	if broken == main {
		t.Fatal("mutation targets not found in main.bicep")
	}
	srcs["main.bicep"] = broken
	bt, problems := newTemplate(srcs)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if p := checkStorageNames(bt, codeTables(), codeContainers()); len(p) != 1 || !strings.Contains(p[0], "tabletasks") {
		t.Errorf("dropped table not reported: %v", p)
	}
	if p := checkMaxDelivery(bt); len(p) == 0 {
		t.Error("mismatched max delivery count not reported")
	}
}
