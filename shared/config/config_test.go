package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const azurite = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func local() map[string]string {
	return map[string]string{EnvHandlerPort: "7001", EnvStorage: azurite, EnvMessagingTransport: "storagequeue"}
}

func TestLocalConfig(t *testing.T) {
	cfg, err := Load(env(local()))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 7001 || !cfg.Storage.UsesConnectionString() || cfg.Messaging.Transport != TransportStorageQueue ||
		cfg.BackupSchedule != DefaultBackupSchedule || cfg.InAzure || cfg.KeyVaultURL != "" {
		t.Errorf("cfg = %+v", cfg)
	}
}

func TestAzureConfig(t *testing.T) {
	m := map[string]string{
		EnvHandlerPort: "8080", EnvWebsiteSiteName: "func-x",
		EnvStorageAccountName: "stx", EnvStorageCredential: "managedidentity", EnvStorageClientID: "cid",
		EnvServiceBusFQNS: "sb-x.servicebus.windows.net", EnvServiceBusCred: "managedidentity", EnvServiceBusClientID: "cid",
		EnvKeyVaultURL: "https://kv-x.vault.azure.net/", EnvAzureClientID: "cid",
	}
	cfg, err := Load(env(m))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Storage.TableURL != "https://stx.table.core.windows.net/" || cfg.Messaging.ServiceBusNamespace != "sb-x.servicebus.windows.net" || !cfg.InAzure {
		t.Errorf("cfg = %+v", cfg)
	}
}

// Every problem is reported at once, each naming its setting.
func TestValidationNamesEverySetting(t *testing.T) {
	cases := []struct {
		name    string
		change  map[string]string
		setting string
		say     string
	}{
		{"no port", map[string]string{EnvHandlerPort: ""}, EnvHandlerPort, "not set"},
		{"bad port", map[string]string{EnvHandlerPort: "70000"}, EnvHandlerPort, "not a port"},
		{"no storage", map[string]string{EnvStorage: ""}, EnvStorage, "no storage configured"},
		{"bad storage", map[string]string{EnvStorage: "hello"}, EnvStorage, "not a storage connection string"},
		{"bad transport", map[string]string{EnvMessagingTransport: "kafka"}, EnvMessagingTransport, "not one of"},
		{"service bus missing", map[string]string{EnvMessagingTransport: "servicebus"}, EnvServiceBusFQNS, "not set"},
		{"service bus url", map[string]string{EnvMessagingTransport: "servicebus", EnvServiceBusFQNS: "https://x/"}, EnvServiceBusFQNS, "bare host"},
		{"schedule fields", map[string]string{EnvBackupSchedule: "0 2 * * *"}, EnvBackupSchedule, "six"},
		{"schedule day 7", map[string]string{EnvRetentionSchedule: "0 30 3 * * 7"}, EnvRetentionSchedule, "0 is Sunday"},
		{"key vault http", map[string]string{EnvKeyVaultURL: "http://kv"}, EnvKeyVaultURL, "https"},
		{"ca missing", map[string]string{EnvDataverseExtraCA: "/nonexistent/ca.pem"}, EnvDataverseExtraCA, "cannot read"},
		{"allowed host path", map[string]string{EnvDataverseAllowedHosts: "ok.example, https://x/y"}, EnvDataverseAllowedHosts, "without scheme"},
		{"log level", map[string]string{EnvLogLevel: "loud"}, EnvLogLevel, "not one of"},
		{"azure without key vault", map[string]string{EnvWebsiteSiteName: "func-x"}, EnvKeyVaultURL, "requires Key Vault"},
		{"azure with connection string", map[string]string{EnvWebsiteSiteName: "func-x"}, EnvStorage, "refused in Azure"},
		{"azure with storage queues", map[string]string{EnvWebsiteSiteName: "func-x"}, EnvMessagingTransport, "local runs only"},
		{"api authorization", map[string]string{EnvAPIAuthorization: "none"}, EnvAPIAuthorization, "not one of"},
		{"local admin in azure", map[string]string{EnvWebsiteSiteName: "func-x", EnvAPIAuthorization: "local-admin"}, EnvAPIAuthorization, "local runs only"},
		{"discovery url http", map[string]string{EnvDiscoveryURL: "http://disco"}, EnvDiscoveryURL, "https URL"},
		{"enable new", map[string]string{EnvDiscoveryEnableNew: "maybe"}, EnvDiscoveryEnableNew, "true or false"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := local()
			for k, v := range c.change {
				m[k] = v
			}
			_, err := Load(env(m))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			for _, p := range ve.Problems {
				if p.Setting == c.setting && strings.Contains(p.Message, c.say) {
					return
				}
			}
			t.Errorf("no problem for %s saying %q in:\n%v", c.setting, c.say, err)
		})
	}
}

func TestSecretsNotEchoed(t *testing.T) {
	m := local()
	m[EnvStorage] = "AccountKey=supersecretvalue"
	m[EnvMessagingTransport] = "servicebus"
	m[EnvServiceBus] = "SharedAccessKey=anothersecret"
	_, err := Load(env(m))
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), "supersecretvalue") || strings.Contains(err.Error(), "anothersecret") {
		t.Errorf("error echoes a secret: %v", err)
	}
}

func TestExtraCA(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	_ = os.WriteFile(bad, []byte("not a cert"), 0o600)
	m := local()
	m[EnvDataverseExtraCA] = bad
	if _, err := Load(env(m)); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("err = %v", err)
	}
}

// The sample settings file and the README document the settings the code reads.
func TestSettingsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings() {
		if !strings.Contains(string(readme), "`"+s.Name+"`") {
			t.Errorf("README.md does not document setting %s", s.Name)
		}
	}
	sample, err := os.ReadFile("../../local.settings.sample.json")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"FUNCTIONS_WORKER_RUNTIME": true}
	for _, s := range Settings() {
		known[s.Name] = true
	}
	var doc struct {
		Values map[string]string
	}
	if err := jsonUnmarshal(sample, &doc); err != nil {
		t.Fatal(err)
	}
	for k := range doc.Values {
		if !known[k] {
			t.Errorf("local.settings.sample.json sets %s, which the code does not read", k)
		}
	}
}
