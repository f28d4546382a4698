package secrets_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/cloudbackup-d365/cloudbackup/shared/secrets"
	"github.com/cloudbackup-d365/cloudbackup/shared/secrets/secretstest"
)

func TestLocalConformance(t *testing.T) {
	s, err := secrets.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	secretstest.Run(t, s, "conn")
}

// The files hold no clear text and a second opening decrypts them.
func TestLocalEncryptedAtRest(t *testing.T) {
	dir := t.TempDir()
	s, _ := secrets.NewLocal(dir)
	const v = "PlainTextSecretValue-987"
	if err := s.Set(context.Background(), "conn-x", []byte(v)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "conn-x.secret"))
	if strings.Contains(string(b), v) || len(b) == 0 {
		t.Errorf("file holds the clear text")
	}
	s2, _ := secrets.NewLocal(dir)
	if got, err := s2.Get(context.Background(), "conn-x"); err != nil || string(got) != v {
		t.Errorf("reopen: %q, %v", got, err)
	}
}

func TestOpenRefusesLocalInAzure(t *testing.T) {
	if _, err := secrets.Open(secrets.OpenOptions{InAzure: true}); !errors.Is(err, secrets.ErrLocalInAzure) {
		t.Errorf("err = %v", err)
	}
	s, err := secrets.Open(secrets.OpenOptions{LocalDir: t.TempDir()})
	if err != nil || s.Kind() != "local" {
		t.Errorf("local: %v", err)
	}
	s, err = secrets.Open(secrets.OpenOptions{KeyVaultURL: "https://kv-x.vault.azure.net/", Credential: staticCred{}})
	if err != nil || s.Kind() != "keyvault" {
		t.Errorf("keyvault: %v", err)
	}
}

// fakeVault speaks the Key Vault challenge protocol: a request without a
// token gets 401 + WWW-Authenticate; with the token it is served.
type fakeVault struct {
	mu         sync.Mutex
	secrets    map[string]map[string]any
	challenges atomic.Int32
	authorized atomic.Int32
	versions   atomic.Int32
}

const fakeToken = "fake-vault-token"

func (f *fakeVault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+fakeToken {
		f.challenges.Add(1)
		w.Header().Set("WWW-Authenticate", `Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="https://vault.azure.net"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	f.authorized.Add(1)
	if r.URL.Query().Get("api-version") == "" {
		http.Error(w, "api-version missing", 400)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 || parts[0] != "secrets" {
		http.NotFound(w, r)
		return
	}
	name := parts[1]
	f.mu.Lock()
	defer f.mu.Unlock()
	notFound := func() {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(404)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": "SecretNotFound", "message": "A secret with (name/id) " + name + " was not found in this key vault."}})
	}
	switch r.Method {
	case http.MethodPut:
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body["value"] == nil {
			http.Error(w, `{"error":{"code":"BadParameter","message":"value required"}}`, 400)
			return
		}
		v := f.versions.Add(1)
		body["id"] = "https://" + r.Host + "/secrets/" + name + "/v" + string(rune('0'+v%10))
		body["attributes"] = map[string]any{"enabled": true, "created": time.Now().Unix()}
		f.secrets[name] = body
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	case http.MethodGet:
		s, ok := f.secrets[name]
		if !ok {
			notFound()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s)
	case http.MethodDelete:
		s, ok := f.secrets[name]
		if !ok {
			notFound()
			return
		}
		delete(f.secrets, name)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": s["id"], "recoveryId": "https://" + r.Host + "/deletedsecrets/" + name})
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
	}
}

type staticCred struct{ scopes *[]string }

func (c staticCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if c.scopes != nil {
		*c.scopes = append(*c.scopes, o.Scopes...)
	}
	return azcore.AccessToken{Token: fakeToken, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestKeyVaultConformance(t *testing.T) {
	fv := &fakeVault{secrets: map[string]map[string]any{}}
	srv := httptest.NewTLSServer(fv)
	defer srv.Close()
	var scopes []string
	kv, err := secrets.NewKeyVault(srv.URL, staticCred{scopes: &scopes}, &secrets.KeyVaultOptions{Transport: srv.Client(), DisableChallengeResourceVerification: true})
	if err != nil {
		t.Fatal(err)
	}
	secretstest.Run(t, kv, "conn")
	if fv.challenges.Load() == 0 || fv.authorized.Load() == 0 {
		t.Errorf("challenge protocol not exercised: %d challenges, %d authorized", fv.challenges.Load(), fv.authorized.Load())
	}
	if len(scopes) == 0 || scopes[0] != "https://vault.azure.net/.default" {
		t.Errorf("token scopes = %v", scopes)
	}
	// Values are stored base64 with our content type, never as clear text.
	fv.mu.Lock()
	for n, s := range fv.secrets {
		if s["contentType"] != "application/vnd.cloudbackup.secret+base64" {
			t.Errorf("%s contentType = %v", n, s["contentType"])
		}
	}
	fv.mu.Unlock()
}

func TestKeyVaultErrorsCarryNoValue(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.Header().Set("WWW-Authenticate", `Bearer authorization="https://login.microsoftonline.com/t", resource="https://vault.azure.net"`)
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(403)
		_, _ = w.Write([]byte(`{"error":{"code":"Forbidden","message":"Caller is not authorized"}}`))
	}))
	defer srv.Close()
	kv, _ := secrets.NewKeyVault(srv.URL, staticCred{}, &secrets.KeyVaultOptions{Transport: srv.Client(), DisableChallengeResourceVerification: true})
	const v = "Value-That-Must-Not-Leak-42"
	err := kv.Set(context.Background(), "conn-a", []byte(v))
	if err == nil || strings.Contains(err.Error(), v) || !strings.Contains(err.Error(), "403") {
		t.Errorf("err = %v", err)
	}
}
