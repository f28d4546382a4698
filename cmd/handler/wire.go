package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/cloudbackup-d365/cloudbackup/functions"
	"github.com/cloudbackup-d365/cloudbackup/shared/audit"
	"github.com/cloudbackup-d365/cloudbackup/shared/config"
	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/identity"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/secrets"
	"github.com/cloudbackup-d365/cloudbackup/shared/storageaccount"
	"github.com/cloudbackup-d365/cloudbackup/wiring"
)

// compose builds every part the handlers call, from configuration, once at
// start: the connections service (with its secret store), the audit log,
// the engines joined to the connections through package wiring. Nothing is
// built later; a part that cannot be built stops the handler with the
// reason (the host restarts it).
func compose(ctx context.Context, cfg *config.Config, cred azcore.TokenCredential, store *storageaccount.Clients, sender messaging.Sender, log *slog.Logger) (*functions.App, error) {
	var extraCA []byte
	if cfg.DataverseExtraCAFile != "" {
		pem, err := os.ReadFile(cfg.DataverseExtraCAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", config.EnvDataverseExtraCA, err)
		}
		extraCA = pem
	}
	conns, err := connections.NewStore(ctx, store.Tables)
	if err != nil {
		return nil, err
	}
	sec, err := secrets.Open(secrets.OpenOptions{KeyVaultURL: cfg.KeyVaultURL, Credential: cred, InAzure: cfg.InAzure, LocalDir: cfg.LocalSecretsDir})
	if err != nil {
		return nil, err
	}
	svc, err := connections.NewService(connections.Options{
		Store: conns, Secrets: sec, ExtraCA: extraCA, AllowedHosts: cfg.DataverseAllowedHosts,
		EnableNew: cfg.DiscoveryEnableNew, Log: log,
		Identity:  identity.Options{AuthorityHost: cfg.EntraAuthorityHost, ManagedIdentityClientID: cfg.AzureClientID, ExtraCA: extraCA},
		Endpoints: connections.Endpoints{GlobalDiscovery: cfg.DiscoveryURL, PowerPlatformAdmin: cfg.PowerPlatformAdminURL, Graph: cfg.GraphURL},
	})
	if err != nil {
		return nil, err
	}
	al, err := audit.NewTableLog(ctx, store.Tables)
	if err != nil {
		return nil, err
	}
	eng, err := wiring.NewEngines(ctx, wiring.EngineParts{Storage: store, Sender: sender, Connections: svc,
		MaxDeliveries: cfg.MaxDeliveryCount, Log: log})
	if err != nil {
		return nil, err
	}
	return functions.New(functions.Deps{Log: log, Config: cfg, Backup: eng.Backup, Restore: eng.Restore,
		Connections: svc, Audit: al, Storage: store})
}
