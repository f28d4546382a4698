package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/ncrontab"
)

// Config is the validated configuration of the custom handler.
type Config struct {
	// Port is the loopback port the handler listens on (FUNCTIONS_CUSTOMHANDLER_PORT).
	Port int

	Storage   Storage
	Messaging Messaging

	BackupSchedule    string
	RetentionSchedule string

	// KeyVaultURL is empty locally, where the dev-only secret store is used.
	KeyVaultURL string
	// InAzure is true when the App Service platform variables are present.
	InAzure bool

	// DataverseExtraCA holds the parsed extra CA (simulator), nil when unset.
	DataverseExtraCA     *x509.CertPool
	DataverseExtraCAFile string
	// DataverseAllowedHosts are extra hosts besides the Microsoft clouds.
	DataverseAllowedHosts []string

	// MaxDeliveryCount is the queues' max delivery count (BACKUP_MAX_DELIVERY_COUNT).
	MaxDeliveryCount int

	// AzureClientID is the user-assigned managed identity's client id, if any.
	AzureClientID string

	LogLevel slog.Level

	// APIAuthorization is AuthEasyAuth, AuthFunctionKey or AuthLocalAdmin (local runs only).
	APIAuthorization string
	// EntraAuthorityHost is the authority for connection credentials.
	EntraAuthorityHost string
	// DiscoveryURL, PowerPlatformAdminURL and GraphURL are the service roots
	// discovery and the service-account role check call.
	DiscoveryURL, PowerPlatformAdminURL, GraphURL string
	// DiscoveryEnableNew enables backups of newly discovered environments.
	DiscoveryEnableNew bool
	// LocalSecretsDir is the dev-only secret store's directory.
	LocalSecretsDir string
}

// Storage says how to reach the Storage account: a connection string (local,
// Azurite) or identity-based endpoints (Azure).
type Storage struct {
	ConnectionString string // secret: never log
	BlobURL          string
	QueueURL         string
	TableURL         string
	ClientID         string
}

// UsesConnectionString reports whether shared-key access is configured.
func (s Storage) UsesConnectionString() bool { return s.ConnectionString != "" }

// Messaging says which transport carries the queues.
type Messaging struct {
	Transport string // TransportServiceBus or TransportStorageQueue
	// Service Bus: a namespace host (identity) or a connection string.
	ServiceBusNamespace        string
	ServiceBusConnectionString string // secret: never log
	ServiceBusClientID         string
}

// Problem is one invalid or missing setting.
type Problem struct {
	Setting string
	Message string
}

// ValidationError lists every problem found, so one start reports them all.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid configuration:")
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  %s: %s", p.Setting, p.Message)
	}
	return b.String()
}

// FromEnvironment loads the configuration from the process environment.
func FromEnvironment() (*Config, error) { return Load(os.Getenv) }

// Load builds and validates a Config from getenv. On failure it returns a
// *ValidationError naming every offending setting and how to fix it.
func Load(getenv func(string) string) (*Config, error) {
	var problems []Problem
	bad := func(setting, format string, args ...any) {
		problems = append(problems, Problem{Setting: setting, Message: fmt.Sprintf(format, args...)})
	}
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }

	cfg := &Config{InAzure: get(EnvWebsiteSiteName) != ""}

	switch port := get(EnvHandlerPort); {
	case port == "":
		bad(EnvHandlerPort, "not set; the Functions host sets it, locally run the handler through the dev host (make run)")
	default:
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			bad(EnvHandlerPort, "%q is not a port number between 1 and 65535", port)
		}
		cfg.Port = n
	}

	cfg.Storage = loadStorage(get, bad, cfg.InAzure)
	cfg.Messaging = loadMessaging(get, bad, cfg.InAzure)

	cfg.BackupSchedule = orDefault(get(EnvBackupSchedule), DefaultBackupSchedule)
	cfg.RetentionSchedule = orDefault(get(EnvRetentionSchedule), DefaultRetentionSchedule)
	for name, v := range map[string]string{EnvBackupSchedule: cfg.BackupSchedule, EnvRetentionSchedule: cfg.RetentionSchedule} {
		// The host refuses to start a timer whose schedule it cannot parse;
		// say so at start, with the parser the dev host uses.
		if _, err := ncrontab.Parse(v); err != nil {
			bad(name, "%v", err)
		}
	}

	cfg.KeyVaultURL = get(EnvKeyVaultURL)
	switch {
	case cfg.KeyVaultURL == "" && cfg.InAzure:
		bad(EnvKeyVaultURL, "not set; running in Azure requires Key Vault for connection secrets (the local secret store is for development only)")
	case cfg.KeyVaultURL != "":
		if u, err := url.Parse(cfg.KeyVaultURL); err != nil || u.Scheme != "https" || u.Host == "" {
			bad(EnvKeyVaultURL, "%q is not an https URL such as https://kv-name.vault.azure.net/", cfg.KeyVaultURL)
		}
	}

	if f := get(EnvDataverseExtraCA); f != "" {
		cfg.DataverseExtraCAFile = f
		pem, err := os.ReadFile(f)
		switch {
		case err != nil:
			bad(EnvDataverseExtraCA, "cannot read %q: %v", f, errors.Unwrap(err))
		default:
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				bad(EnvDataverseExtraCA, "%q holds no PEM certificate", f)
			}
			cfg.DataverseExtraCA = pool
		}
	}
	for _, h := range strings.Split(get(EnvDataverseAllowedHosts), ",") {
		if h = strings.TrimSpace(h); h == "" {
			continue
		}
		if strings.Contains(h, "/") || strings.Contains(h, "@") {
			bad(EnvDataverseAllowedHosts, "%q must be a host or host:port, without scheme or path", h)
			continue
		}
		cfg.DataverseAllowedHosts = append(cfg.DataverseAllowedHosts, strings.ToLower(h))
	}

	cfg.AzureClientID = get(EnvAzureClientID)

	cfg.MaxDeliveryCount = 10
	if v := get(EnvMaxDeliveryCount); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 2000 {
			bad(EnvMaxDeliveryCount, "%q is not a delivery count between 1 and 2000 (Service Bus allows 1-2000; use the queues' maxDeliveryCount)", v)
		}
		cfg.MaxDeliveryCount = n
	}

	switch lvl := strings.ToLower(orDefault(get(EnvLogLevel), "info")); lvl {
	case "debug":
		cfg.LogLevel = slog.LevelDebug
	case "info":
		cfg.LogLevel = slog.LevelInfo
	case "warn", "warning":
		cfg.LogLevel = slog.LevelWarn
	case "error":
		cfg.LogLevel = slog.LevelError
	default:
		bad(EnvLogLevel, "%q is not one of debug, info, warn, error", lvl)
	}

	loadConnections(cfg, get, bad)

	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	return cfg, nil
}

// loadConnections reads the settings of connections, discovery and the API.
func loadConnections(cfg *Config, get func(string) string, bad func(string, string, ...any)) {
	cfg.APIAuthorization = strings.ToLower(orDefault(get(EnvAPIAuthorization), AuthEasyAuth))
	switch cfg.APIAuthorization {
	case AuthEasyAuth, AuthFunctionKey:
	case AuthLocalAdmin:
		if cfg.InAzure {
			bad(EnvAPIAuthorization, "%q is for local runs only; in Azure enable App Service Authentication and use %q", AuthLocalAdmin, AuthEasyAuth)
		}
	default:
		bad(EnvAPIAuthorization, "%q is not one of %q, %q, %q", cfg.APIAuthorization, AuthEasyAuth, AuthFunctionKey, AuthLocalAdmin)
	}
	for _, u := range []struct {
		name, def string
		dst       *string
	}{
		{EnvEntraAuthorityHost, "https://login.microsoftonline.com/", &cfg.EntraAuthorityHost},
		{EnvDiscoveryURL, "https://globaldisco.crm.dynamics.com", &cfg.DiscoveryURL},
		{EnvPowerPlatformAdminURL, "https://api.bap.microsoft.com", &cfg.PowerPlatformAdminURL},
		{EnvGraphURL, "https://graph.microsoft.com", &cfg.GraphURL},
	} {
		v := orDefault(get(u.name), u.def)
		if p, err := url.Parse(v); err != nil || p.Scheme != "https" || p.Host == "" || p.RawQuery != "" {
			bad(u.name, "%q is not an https URL such as %s", v, u.def)
		}
		*u.dst = v
	}
	switch v := strings.ToLower(orDefault(get(EnvDiscoveryEnableNew), "false")); v {
	case "true", "1", "yes":
		cfg.DiscoveryEnableNew = true
	case "false", "0", "no":
	default:
		bad(EnvDiscoveryEnableNew, "%q is not true or false", v)
	}
	cfg.LocalSecretsDir = orDefault(get(EnvLocalSecretsDir), ".localsecrets")
}

func loadStorage(get func(string) string, bad func(string, string, ...any), inAzure bool) Storage {
	s := Storage{
		ConnectionString: get(EnvStorage),
		ClientID:         get(EnvStorageClientID),
	}
	account := get(EnvStorageAccountName)
	if account != "" {
		s.BlobURL = "https://" + account + ".blob.core.windows.net/"
		s.QueueURL = "https://" + account + ".queue.core.windows.net/"
		s.TableURL = "https://" + account + ".table.core.windows.net/"
	}
	for setting, dst := range map[string]*string{EnvStorageBlobURI: &s.BlobURL, EnvStorageQueueURI: &s.QueueURL, EnvStorageTableURI: &s.TableURL} {
		if v := get(setting); v != "" {
			if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				bad(setting, "%q is not an http(s) URL", v)
				continue
			}
			*dst = v
		}
	}
	switch {
	case s.ConnectionString == "" && s.BlobURL == "":
		bad(EnvStorage, "no storage configured: set %s (connection string, e.g. Azurite's) or %s (identity-based)", EnvStorage, EnvStorageAccountName)
	case s.ConnectionString != "":
		if !strings.Contains(s.ConnectionString, "AccountName=") && !strings.Contains(s.ConnectionString, "UseDevelopmentStorage=true") &&
			!strings.Contains(s.ConnectionString, "BlobEndpoint=") {
			// Never echo the value: it holds the account key.
			bad(EnvStorage, "is not a storage connection string (expected AccountName=...;AccountKey=...;BlobEndpoint=...)")
		}
		if inAzure {
			bad(EnvStorage, "connection strings (shared keys) are refused in Azure; use %s with a managed identity", EnvStorageAccountName)
		}
	default:
		if s.QueueURL == "" || s.TableURL == "" {
			bad(EnvStorageAccountName, "identity-based storage needs queue and table endpoints too: set %s, or %s and %s", EnvStorageAccountName, EnvStorageQueueURI, EnvStorageTableURI)
		}
	}
	return s
}

func loadMessaging(get func(string) string, bad func(string, string, ...any), inAzure bool) Messaging {
	m := Messaging{
		Transport:                  strings.ToLower(orDefault(get(EnvMessagingTransport), TransportServiceBus)),
		ServiceBusNamespace:        get(EnvServiceBusFQNS),
		ServiceBusConnectionString: get(EnvServiceBus),
		ServiceBusClientID:         get(EnvServiceBusClientID),
	}
	switch m.Transport {
	case TransportServiceBus:
		switch {
		case m.ServiceBusNamespace == "" && m.ServiceBusConnectionString == "":
			bad(EnvServiceBusFQNS, "not set; name the Service Bus namespace (e.g. sb-xyz.servicebus.windows.net), or set %s=%s for local runs", EnvMessagingTransport, TransportStorageQueue)
		case m.ServiceBusNamespace != "":
			if strings.Contains(m.ServiceBusNamespace, "/") || strings.Contains(m.ServiceBusNamespace, ";") || net.ParseIP(m.ServiceBusNamespace) != nil {
				bad(EnvServiceBusFQNS, "%q must be a bare host name such as sb-xyz.servicebus.windows.net", m.ServiceBusNamespace)
			}
		default:
			if !strings.Contains(m.ServiceBusConnectionString, "Endpoint=sb://") {
				bad(EnvServiceBus, "is not a Service Bus connection string (expected Endpoint=sb://...;SharedAccessKeyName=...)")
			}
		}
	case TransportStorageQueue:
		if inAzure {
			bad(EnvMessagingTransport, "%q is for local runs only; in Azure the functions are triggered from Service Bus, use %q", TransportStorageQueue, TransportServiceBus)
		}
	default:
		bad(EnvMessagingTransport, "%q is not one of %q, %q", m.Transport, TransportServiceBus, TransportStorageQueue)
	}
	return m
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
