package archtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const module = "github.com/cloudbackup-d365/cloudbackup"

// pkg is what the checks need of one package of `go list -json`.
type pkg struct {
	ImportPath     string
	Dir            string
	Name           string
	GoFiles        []string
	CgoFiles       []string
	IgnoredGoFiles []string
	Imports        []string
	Deps           []string
}

// rel is a module package's path inside the module ("" for others).
func rel(importPath string) string {
	if importPath == module {
		return "."
	}
	if r, ok := strings.CutPrefix(importPath, module+"/"); ok {
		return r
	}
	return ""
}

// nonTestFiles are the package's Go files that are not tests, whatever the
// build constraints.
func (p pkg) nonTestFiles() []string {
	return slices.Concat(p.GoFiles, p.CgoFiles, p.IgnoredGoFiles)
}

// layer is a package's place in the architecture (docs/architecture.md).
// A package imports only packages of lower layers, or of its own layer
// below the domains; the domains import no other domain.
type layer int

const (
	utility  layer = iota // no knowledge of the product: retry, ncrontab, ...
	seam                  // one outside system behind a small interface
	data                  // the backup format and the stores of run state and audit, shared by domains
	domain                // the product's behaviour: backup, restore, connections
	joins                 // wiring: adapters between domains, engine construction
	handlers              // functions: decode, call a domain, encode
	root                  // cmd/handler: the composition root
	tooling               // simulators, test kits, dev host, bench, checks: never imported by the app
)

var layerNames = [...]string{"utility", "seam", "data", "domain", "wiring", "handlers", "composition root", "tooling"}

func (l layer) String() string { return layerNames[l] }

// layers places every package of the module. A new package must be placed
// here (and in docs/architecture.md) before the test passes.
var layers = map[string]layer{
	"shared/retry":          utility,
	"shared/ncrontab":       utility,
	"shared/azerr":          utility,
	"shared/tlsroots":       utility,
	"shared/guid":           utility,
	"shared/version":        utility,
	"shared/config":         seam, // the host's app settings
	"shared/dataverse":      seam,
	"shared/identity":       seam, // Entra ID credentials
	"shared/secrets":        seam,
	"shared/tablestore":     seam,
	"shared/blobstore":      seam,
	"shared/messaging":      seam,
	"shared/customhandler":  seam, // the Functions host's protocol
	"shared/storageaccount": seam,
	"shared/backupformat":   data,
	"shared/runstate":       data,
	"shared/audit":          data,
	"shared/backup":         domain,
	"shared/restore":        domain,
	"shared/restore/plan":   domain,
	"shared/connections":    domain,
	"wiring":                joins,
	"functions":             handlers,
	"cmd/handler":           root,

	"archtest":                         tooling,
	"bench":                            tooling,
	"cmd/dataverse-sim":                tooling,
	"cmd/demo":                         tooling,
	"cmd/devhost":                      tooling,
	"cmd/firstbackup":                  tooling,
	"dataversesim":                     tooling,
	"devhost":                          tooling,
	"e2e":                              tooling,
	"infra":                            tooling,
	"shared/blobstore/blobstoretest":   tooling,
	"shared/restore/plan/plantest":     tooling,
	"shared/secrets/secretstest":       tooling,
	"shared/tablestore/tablestoretest": tooling,
	"testkit/azurite":                  tooling,
	"testkit/backupdemo":               tooling,
	"testkit/inproc":                   tooling,
	"testkit/pump":                     tooling,
}

// domainOf names the domain of a domain package: restore/plan is restore's.
var domainOf = map[string]string{
	"shared/backup":       "backup",
	"shared/restore":      "restore",
	"shared/restore/plan": "restore",
	"shared/connections":  "connections",
}

// checkLayers: every package has a layer, and imports (its non-test
// files') only lower layers, or its own layer below the domains. Tooling
// may import anything; nothing else may import tooling.
func checkLayers(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		r := rel(p.ImportPath)
		l, ok := layers[r]
		if !ok {
			out = append(out, fmt.Sprintf("%s has no layer: place it in archtest's layers and in docs/architecture.md", r))
			continue
		}
		if l == tooling {
			continue
		}
		for _, imp := range p.Imports {
			ir := rel(imp)
			if ir == "" {
				continue
			}
			il, ok := layers[ir]
			switch {
			case !ok:
				// reported as a package of its own
			case il == tooling:
				out = append(out, fmt.Sprintf("%s (%s) imports %s, which is test tooling", r, l, ir))
			case il > l:
				out = append(out, fmt.Sprintf("%s (%s) imports %s (%s): an upward arrow", r, l, ir, il))
			case il == l && l == domain:
				// checkDomains decides between domains
			case il == l && l > domain:
				out = append(out, fmt.Sprintf("%s imports %s: two packages of the %s layer", r, ir, l))
			}
		}
	}
	return out
}

// checkDomains: a domain depends on no other domain, directly or through
// any package between; a package below the domains depends on none.
func checkDomains(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		r := rel(p.ImportPath)
		own := domainOf[r]
		if l, placed := layers[r]; !placed || l > domain {
			continue
		}
		for _, dep := range p.Deps {
			d := domainOf[rel(dep)]
			switch {
			case d == "" || d == own:
			case own != "":
				out = append(out, fmt.Sprintf("domain %s (%s) depends on domain %s (%s)", own, r, d, rel(dep)))
			default:
				out = append(out, fmt.Sprintf("%s (%s) depends on the %s domain (%s)", r, layers[r], d, rel(dep)))
			}
		}
	}
	return out
}

// Packages a handler must not import: the SDK clients of storage, queues
// and Key Vault, the storage account and the wiring exist only to build
// stores, which the composition root does and hands over in
// functions.Deps. (The storage seams tablestore and blobstore may be
// imported for their sentinel errors; their constructors are caught by
// the constructor rule.)
var handlerForbiddenImports = []string{
	module + "/shared/storageaccount",
	module + "/wiring",
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables",
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob",
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue",
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus",
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets",
}

// Constructors a handler may call: values that hold no connection or state.
var handlerAllowedConstructors = map[string]bool{
	"shared/backupformat.NewRunReader": true, // a reader over the blobs it is given
}

var constructorName = regexp.MustCompile(`^(New|Open)`)

// checkHandlers: no non-test file of package functions imports a package
// of handlerForbiddenImports, or calls a New*/Open* function of the module
// (a store, an engine, a sender, a service) outside
// handlerAllowedConstructors.
func checkHandlers(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		if rel(p.ImportPath) != "functions" {
			continue
		}
		for _, name := range p.nonTestFiles() {
			path := filepath.Join(p.Dir, name)
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
			if err != nil {
				out = append(out, fmt.Sprintf("functions/%s: %v", name, err))
				continue
			}
			names := map[string]string{} // local name -> module-relative path
			for _, is := range f.Imports {
				ip, _ := strconv.Unquote(is.Path.Value)
				if slices.Contains(handlerForbiddenImports, ip) {
					out = append(out, fmt.Sprintf("functions/%s imports %s: handlers get their stores from functions.Deps", name, ip))
				}
				if r := rel(ip); r != "" {
					local := filepath.Base(ip)
					if is.Name != nil {
						local = is.Name.Name
					}
					names[local] = r
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				x, ok := sel.X.(*ast.Ident)
				if !ok {
					return true
				}
				r, ok := names[x.Name]
				if ok && constructorName.MatchString(sel.Sel.Name) && !handlerAllowedConstructors[r+"."+sel.Sel.Name] {
					out = append(out, fmt.Sprintf("functions/%s calls %s.%s: handlers build nothing (cmd/handler does, through wiring)", name, r, sel.Sel.Name))
				}
				return true
			})
		}
	}
	return out
}

// maxLines is the size a non-test Go file may reach outside dataversesim.
const maxLines = 500

// checkFileSizes: no non-test Go file over maxLines lines outside the
// simulator.
func checkFileSizes(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		r := rel(p.ImportPath)
		if r == "dataversesim" || strings.HasPrefix(r, "dataversesim/") {
			continue
		}
		for _, name := range p.nonTestFiles() {
			n, err := countLines(filepath.Join(p.Dir, name))
			if err != nil {
				out = append(out, err.Error())
				continue
			}
			if n > maxLines {
				out = append(out, fmt.Sprintf("%s/%s has %d lines (at most %d): split it by job", r, name, n, maxLines))
			}
		}
	}
	return out
}

func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		n++
	}
	return n, sc.Err()
}

// checkDocs: every package has a doc.go whose package comment starts
// "Package <name>" ("Command <dir>" for a command), and no other non-test
// file has a package comment (go doc would join them).
func checkDocs(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		r := rel(p.ImportPath)
		files := p.nonTestFiles()
		if !slices.Contains(files, "doc.go") {
			out = append(out, fmt.Sprintf("%s has no doc.go", r))
		}
		for _, name := range files {
			f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, name), nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				out = append(out, fmt.Sprintf("%s/%s: %v", r, name, err))
				continue
			}
			text := ""
			if f.Doc != nil {
				text = f.Doc.Text()
			}
			switch {
			case name != "doc.go" && text != "":
				out = append(out, fmt.Sprintf("%s/%s has a package comment: it belongs in doc.go", r, name))
			case name != "doc.go":
			case p.Name == "main" && !strings.HasPrefix(text, "Command "+filepath.Base(p.Dir)+" "):
				out = append(out, fmt.Sprintf("%s/doc.go does not start \"Command %s ...\"", r, filepath.Base(p.Dir)))
			case p.Name != "main" && !strings.HasPrefix(text, "Package "+p.Name+" "):
				out = append(out, fmt.Sprintf("%s/doc.go does not start \"Package %s ...\"", r, p.Name))
			}
		}
	}
	return out
}

var (
	loadOnce sync.Once
	loaded   []pkg
	loadErr  error
)

// modulePackages lists the module's packages with `go list -json ./...`
// run at the module root.
func modulePackages(t *testing.T) []pkg {
	t.Helper()
	loadOnce.Do(func() {
		// `go test` puts the toolchain's go first on PATH for the test.
		goBin, err := exec.LookPath("go")
		if err != nil {
			loadErr = fmt.Errorf("the go command is not on PATH: %v", err)
			return
		}
		cmd := exec.Command(goBin, "list", "-json", "./...")
		cmd.Dir = ".."
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			loadErr = fmt.Errorf("go list: %v: %s", err, stderr.String())
			return
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		for {
			var p pkg
			if err := dec.Decode(&p); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				loadErr = err
				return
			}
			loaded = append(loaded, p)
		}
	})
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	if len(loaded) < 20 {
		t.Fatalf("go list found %d packages: not the module root?", len(loaded))
	}
	return loaded
}

// TestArchitecture runs every check on the module.
func TestArchitecture(t *testing.T) {
	pkgs := modulePackages(t)
	for _, c := range []struct {
		name  string
		check func([]pkg) []string
	}{
		{"layers", checkLayers},
		{"domains", checkDomains},
		{"handlers", checkHandlers},
		{"file sizes", checkFileSizes},
		{"doc.go", checkDocs},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, p := range c.check(pkgs) {
				t.Error(p)
			}
		})
	}
}

// TestLayersPlaceOnlyExistingPackages keeps the layer table honest: a
// package removed or renamed leaves no stale entry behind.
func TestLayersPlaceOnlyExistingPackages(t *testing.T) {
	have := map[string]bool{}
	for _, p := range modulePackages(t) {
		have[rel(p.ImportPath)] = true
	}
	for r := range layers {
		if !have[r] {
			t.Errorf("layers places %s, which is not a package of the module", r)
		}
	}
}
