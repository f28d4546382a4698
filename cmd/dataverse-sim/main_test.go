package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestReadyLine builds the command, starts it with the documented command
// line and checks the ready JSON line others rely on, then a token request.
func TestReadyLine(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "dataverse-sim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ca := filepath.Join(dir, "ca.pem")
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-records", "50", "-seed", "7", "-latency", "0s", "-ca-out", ca, "-limits", "10")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("exit: %v", err)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Error("did not stop on SIGTERM")
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		DataverseURL  string `json:"dataverseUrl"`
		AuthorityHost string `json:"authorityHost"`
		TenantID      string `json:"tenantId"`
		CAFile        string `json:"caFile"`
		Clients       []struct {
			ClientID     string `json:"clientId"`
			ClientSecret string `json:"clientSecret"`
		} `json:"clients"`
		ServiceAccounts []map[string]any `json:"serviceAccounts"`
	}
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		t.Fatalf("ready line %q: %v", line, err)
	}
	if info.DataverseURL == "" || info.AuthorityHost == "" || info.TenantID == "" || info.CAFile != ca || len(info.Clients) == 0 || len(info.ServiceAccounts) == 0 {
		t.Fatalf("ready line incomplete: %s", line)
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := hc.PostForm(info.AuthorityHost+info.TenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {info.Clients[0].ClientID}, "client_secret": {info.Clients[0].ClientSecret}, "scope": {info.DataverseURL + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("token: %d", res.StatusCode)
	}
}
