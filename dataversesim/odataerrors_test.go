package dataversesim

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestErrorsWordedAsDataverse: clients see Dataverse's wording
// (SupportArticles-docs, support/power-platform/dataverse/
// dataverse-web-api-and-sdk/web-api-client-errors.md), never Go error text.
func TestErrorsWordedAsDataverse(t *testing.T) {
	_, e := small(t)
	r := call(t, e, "POST", "accounts", `{"name": "x"`)
	if r.status != 400 || r.errCode() != codePayload || strings.Contains(r.errMsg(), "unexpected EOF") {
		t.Fatalf("malformed JSON: %d %s", r.status, r.raw)
	}
	r = call(t, e, "POST", "contacts", map[string]any{"lastname": "x", "parentcustomerid@odata.bind": "accounts(" + e.IDs("account")[0] + ")"})
	if r.status != 400 || r.errCode() != "0x80048d19" || !strings.HasPrefix(r.errMsg(), "Error identified in Payload provided by the user for Entity :'contacts'") ||
		!strings.Contains(r.errMsg(), "An undeclared property 'parentcustomerid' which only has property annotations") {
		t.Fatalf("undeclared navigation property: %d %s", r.status, r.raw)
	}
	r = call(t, e, "PATCH", "accounts("+e.IDs("account")[0]+")", map[string]any{"name": map[string]any{"a": 1}})
	if r.status != 400 || strings.Contains(r.errMsg(), "map[") || !strings.Contains(r.errMsg(), `{"a":1}`) {
		t.Fatalf("literal of the wrong type: %d %s", r.status, r.raw)
	}
}

// TestNoGoErrorsInResponses guards the rule for every answer: no error
// message passed to errf formats a Go error value (err, err.Error()).
func TestNoGoErrorsInResponses(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "errf" {
				return true
			}
			for _, arg := range call.Args[3:] {
				ast.Inspect(arg, func(m ast.Node) bool {
					if id, ok := m.(*ast.Ident); ok && (id.Name == "err" || strings.HasSuffix(id.Name, "Err")) {
						t.Errorf("%s: errf formats the Go error %s into a response", fset.Position(call.Pos()), id.Name)
					}
					if sel, ok := m.(*ast.SelectorExpr); ok && sel.Sel.Name == "Error" {
						t.Errorf("%s: errf formats a Go error message into a response", fset.Position(call.Pos()))
					}
					return true
				})
			}
			return true
		})
	}
}
