package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/cloudbackup-d365/cloudbackup/shared/config"
	"github.com/cloudbackup-d365/cloudbackup/shared/customhandler"
	"github.com/cloudbackup-d365/cloudbackup/shared/storageaccount"
	"github.com/cloudbackup-d365/cloudbackup/shared/version"
)

func main() {
	if err := run(); err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("handler stopped", "error", err.Error())
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.FromEnvironment()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel})).
		With("app", "cloudbackup", "version", version.Version)
	slog.SetDefault(log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cred, err := azureCredential(cfg)
	if err != nil {
		return err
	}
	store, err := storageaccount.Open(cfg.Storage, cred)
	if err != nil {
		return err
	}
	sender, err := openSender(ctx, cfg, cred)
	if err != nil {
		return err
	}
	defer sender.Close(context.Background())

	app, err := compose(ctx, cfg, cred, store, sender, log)
	if err != nil {
		return err
	}
	srv := customhandler.NewServer(log)
	app.Register(srv)
	log.Info("handler listening", "port", cfg.Port, "transport", cfg.Messaging.Transport)
	if err := srv.ListenAndServe(ctx, cfg.Port, 30*time.Second); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// azureCredential returns the credential for the app's own Azure resources
// (storage, Service Bus, Key Vault): the user-assigned managed identity when
// AZURE_CLIENT_ID is set, else the default chain (developer sign-in locally).
// Nil when every resource is reached by connection string (Azurite).
func azureCredential(cfg *config.Config) (azcore.TokenCredential, error) {
	needs := !cfg.Storage.UsesConnectionString() ||
		(cfg.Messaging.Transport == config.TransportServiceBus && cfg.Messaging.ServiceBusNamespace != "") ||
		cfg.KeyVaultURL != ""
	if !needs {
		return nil, nil
	}
	if cfg.AzureClientID != "" {
		cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(cfg.AzureClientID)})
		if err != nil {
			return nil, fmt.Errorf("managed identity %s=%s: %w", config.EnvAzureClientID, cfg.AzureClientID, err)
		}
		return cred, nil
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("default Azure credential: %w", err)
	}
	return cred, nil
}
