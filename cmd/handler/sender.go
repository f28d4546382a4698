package main

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/cloudbackup-d365/cloudbackup/shared/config"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
)

func openSender(ctx context.Context, cfg *config.Config, cred azcore.TokenCredential) (messaging.Sender, error) {
	return messaging.Open(ctx, cfg.Messaging, cfg.Storage, cred)
}
