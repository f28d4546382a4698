package archtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each rule against an invented graph: the module's real shape plus one
// violation. A rule that stopped reporting would pass TestArchitecture on
// any code; here it fails.

func mp(r string) string { return module + "/" + r }

// writePkg writes files (name -> source) into a new directory.
func writePkg(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// expect fails unless problems has one entry containing each of want, and
// no other entry.
func expect(t *testing.T, problems []string, want ...string) {
	t.Helper()
	if len(problems) != len(want) {
		t.Fatalf("problems %q, want %d containing %q", problems, len(want), want)
	}
	for i, w := range want {
		if !strings.Contains(problems[i], w) {
			t.Errorf("problem %q does not say %q", problems[i], w)
		}
	}
}

func TestCheckLayersCatches(t *testing.T) {
	ok := []pkg{
		{ImportPath: mp("shared/messaging"), Imports: []string{mp("shared/config"), "context"}},
		{ImportPath: mp("shared/runstate"), Imports: []string{mp("shared/backupformat"), mp("shared/tablestore")}},
		{ImportPath: mp("shared/restore"), Imports: []string{mp("shared/restore/plan")}},
		{ImportPath: mp("testkit/inproc"), Imports: []string{mp("wiring"), mp("shared/backup")}},
	}
	expect(t, checkLayers(ok))
	for _, c := range []struct {
		name string
		p    pkg
		want string
	}{
		{"seam imports a domain", pkg{ImportPath: mp("shared/blobstore"), Imports: []string{mp("shared/backup")}}, "upward arrow"},
		{"seam imports the format", pkg{ImportPath: mp("shared/tablestore"), Imports: []string{mp("shared/runstate")}}, "upward arrow"},
		{"domain imports the wiring", pkg{ImportPath: mp("shared/backup"), Imports: []string{mp("wiring")}}, "upward arrow"},
		{"app imports tooling", pkg{ImportPath: mp("shared/backup"), Imports: []string{mp("testkit/pump")}}, "test tooling"},
		{"unplaced package", pkg{ImportPath: mp("shared/newthing")}, "has no layer"},
	} {
		t.Run(c.name, func(t *testing.T) { expect(t, checkLayers(append(ok, c.p)), c.want) })
	}
}

func TestCheckDomainsCatches(t *testing.T) {
	ok := []pkg{
		{ImportPath: mp("shared/backup"), Deps: []string{mp("shared/runstate"), mp("shared/dataverse"), "context"}},
		{ImportPath: mp("shared/restore"), Deps: []string{mp("shared/restore/plan"), mp("shared/backupformat")}},
		{ImportPath: mp("wiring"), Deps: []string{mp("shared/backup"), mp("shared/connections")}},
	}
	expect(t, checkDomains(ok))
	// backup reaching connections through a package between counts too.
	expect(t, checkDomains(append(ok, pkg{ImportPath: mp("shared/backup"), Deps: []string{mp("shared/audit"), mp("shared/connections")}})),
		"domain backup (shared/backup) depends on domain connections")
	expect(t, checkDomains(append(ok, pkg{ImportPath: mp("shared/restore/plan"), Deps: []string{mp("shared/backup")}})),
		"domain restore (shared/restore/plan) depends on domain backup")
	expect(t, checkDomains(append(ok, pkg{ImportPath: mp("shared/dataverse"), Deps: []string{mp("shared/restore")}})),
		"shared/dataverse (seam) depends on the restore domain")
}

func TestCheckHandlersCatches(t *testing.T) {
	good := `package functions

import (
	"errors"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

var _ = errors.Is(nil, blobstore.ErrNotFound)
var _ = errors.New("x")
var _ = backupformat.NewRunReader(nil, "e", "r")
var _ runstate.Run
`
	check := func(extra string) []string {
		files := map[string]string{"good.go": good}
		if extra != "" {
			files["bad.go"] = extra
		}
		dir := writePkg(t, files)
		var names []string
		for n := range files {
			names = append(names, n)
		}
		return checkHandlers([]pkg{{ImportPath: mp("functions"), Dir: dir, GoFiles: names}})
	}
	expect(t, check(""))
	expect(t, check(`package functions

import "github.com/cloudbackup-d365/cloudbackup/shared/runstate"

func open() { _, _ = runstate.Open(nil, nil) }
`), "calls shared/runstate.Open")
	expect(t, check(`package functions

import tables "github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

var _ *tables.Client
`), "imports github.com/Azure/azure-sdk-for-go/sdk/data/aztables")
	expect(t, check(`package functions

import "github.com/cloudbackup-d365/cloudbackup/shared/blobstore"

var _ = blobstore.NewMemory()
`), "calls shared/blobstore.NewMemory")
	expect(t, check(`package functions

import "github.com/cloudbackup-d365/cloudbackup/wiring"

var _ wiring.Stores
`), "imports github.com/cloudbackup-d365/cloudbackup/wiring")
	expect(t, check(`package functions

import "github.com/cloudbackup-d365/cloudbackup/shared/messaging"

var _ = messaging.NewMemorySender()
`), "calls shared/messaging.NewMemorySender")
}

func TestCheckFileSizesCatches(t *testing.T) {
	lines := func(n int) string { return "package x\n" + strings.Repeat("//\n", n-1) }
	dir := writePkg(t, map[string]string{"ok.go": lines(500), "big.go": lines(501), "big_test.go": lines(900)})
	p := pkg{ImportPath: mp("shared/backup"), Dir: dir, GoFiles: []string{"ok.go"}, IgnoredGoFiles: []string{"big.go"}}
	expect(t, checkFileSizes([]pkg{p}), "big.go has 501 lines")
	p.ImportPath = mp("dataversesim")
	expect(t, checkFileSizes([]pkg{p}))
}

func TestCheckDocsCatches(t *testing.T) {
	doc := "// Package x does one thing.\npackage x\n"
	code := "package x\n\nfunc F() {}\n"
	check := func(name string, files map[string]string) []string {
		dir := writePkg(t, files)
		var names []string
		for n := range files {
			names = append(names, n)
		}
		return checkDocs([]pkg{{ImportPath: mp("shared/" + name), Name: name, Dir: dir, GoFiles: names}})
	}
	expect(t, check("x", map[string]string{"doc.go": doc, "x.go": code}))
	expect(t, check("x", map[string]string{"x.go": code}), "has no doc.go")
	expect(t, check("x", map[string]string{"doc.go": doc, "x.go": "// Package x does another.\n" + code}), "x.go has a package comment")
	expect(t, check("x", map[string]string{"doc.go": "package x\n", "x.go": code}), `does not start "Package x`)
}
