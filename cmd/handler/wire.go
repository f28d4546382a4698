package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/cloudbackup-d365/cloudbackup/functions"
	"github.com/cloudbackup-d365/cloudbackup/shared/audit"
	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/config"
	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/identity"
	"github.com/cloudbackup-d365/cloudbackup/shared/secrets"
)

// wireDomain builds the connections service (with its secret store), the
// audit log and the backup engine's view of environments, and sets them on app.
func wireDomain(ctx context.Context, app *functions.App, cfg *config.Config, cred azcore.TokenCredential, log *slog.Logger) error {
	var extraCA []byte
	if cfg.DataverseExtraCAFile != "" {
		pem, err := os.ReadFile(cfg.DataverseExtraCAFile)
		if err != nil {
			return fmt.Errorf("%s: %w", config.EnvDataverseExtraCA, err)
		}
		extraCA = pem
	}
	store, err := connections.NewStore(ctx, app.Storage.Tables)
	if err != nil {
		return err
	}
	sec, err := secrets.Open(secrets.OpenOptions{KeyVaultURL: cfg.KeyVaultURL, Credential: cred, InAzure: cfg.InAzure, LocalDir: cfg.LocalSecretsDir})
	if err != nil {
		return err
	}
	svc, err := connections.NewService(connections.Options{
		Store: store, Secrets: sec, ExtraCA: extraCA, AllowedHosts: cfg.DataverseAllowedHosts,
		EnableNew: cfg.DiscoveryEnableNew, Log: log,
		Identity:  identity.Options{AuthorityHost: cfg.EntraAuthorityHost, ManagedIdentityClientID: cfg.AzureClientID, ExtraCA: extraCA},
		Endpoints: connections.Endpoints{GlobalDiscovery: cfg.DiscoveryURL, PowerPlatformAdmin: cfg.PowerPlatformAdminURL, Graph: cfg.GraphURL},
	})
	if err != nil {
		return err
	}
	app.Connections = svc
	if app.Audit, err = audit.NewTableLog(ctx, app.Storage.Tables); err != nil {
		return err
	}
	app.BackupDirectory = backup.ConnectionsDirectory(svc)
	return nil
}
