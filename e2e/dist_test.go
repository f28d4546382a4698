package e2e

import (
	"debug/elf"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/functions"
)

// TestDistLayout checks the folder azd zips and `func start` runs in: host.json
// at the top naming an executable that is there and is linux/amd64, and one
// folder per function holding the same function.json as the source.
func TestDistLayout(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(distDir, "host.json"))
	if err != nil {
		t.Fatal(err)
	}
	var host struct {
		Version       string
		CustomHandler struct {
			Description                 struct{ DefaultExecutablePath string }
			EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
		}
	}
	if err := json.Unmarshal(raw, &host); err != nil {
		t.Fatal(err)
	}
	if host.Version != "2.0" || !host.CustomHandler.EnableForwardingHTTPRequest {
		t.Errorf("host.json: version %q, forwarding %v", host.Version, host.CustomHandler.EnableForwardingHTTPRequest)
	}
	exe := filepath.Join(distDir, host.CustomHandler.Description.DefaultExecutablePath)
	st, err := os.Stat(exe)
	if err != nil {
		t.Fatalf("host.json names %q which is not in dist: %v", host.CustomHandler.Description.DefaultExecutablePath, err)
	}
	if st.Mode()&0o111 == 0 {
		t.Errorf("%s is not executable", exe)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatalf("%s is not an ELF binary: %v", exe, err)
	}
	if f.Machine != elf.EM_X86_64 || f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		t.Errorf("%s: machine %v osabi %v, want linux/amd64", exe, f.Machine, f.OSABI)
	}
	f.Close()

	want := map[string]bool{}
	for _, d := range functions.Definitions() {
		want[d.Name] = true
		got, err := os.ReadFile(filepath.Join(distDir, d.Name, "function.json"))
		if err != nil {
			t.Errorf("dist lacks %s/function.json", d.Name)
			continue
		}
		src, _ := os.ReadFile(filepath.Join("..", "functions", d.Name, "function.json"))
		var a, b any
		_ = json.Unmarshal(got, &a)
		_ = json.Unmarshal(src, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("dist/%s/function.json differs from functions/%s/function.json", d.Name, d.Name)
		}
	}
	entries, _ := os.ReadDir(distDir)
	for _, e := range entries {
		if e.IsDir() && !want[e.Name()] {
			t.Errorf("dist holds a folder %s that is not a function", e.Name())
		}
	}
}
