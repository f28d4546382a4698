package storageaccount

import (
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/cloudbackup-d365/cloudbackup/shared/config"
)

// Clients are the service clients of one Storage account.
type Clients struct {
	Blob   *azblob.Client
	Tables *aztables.ServiceClient
	Queues *azqueue.ServiceClient
}

// Open builds the clients. cred is used only for identity-based access and may
// be nil when cfg holds a connection string.
func Open(cfg config.Storage, cred azcore.TokenCredential) (*Clients, error) {
	var c Clients
	var err error
	if cfg.UsesConnectionString() {
		if c.Blob, err = azblob.NewClientFromConnectionString(cfg.ConnectionString, nil); err != nil {
			return nil, fmt.Errorf("blob client from %s: invalid connection string", config.EnvStorage)
		}
		if c.Tables, err = aztables.NewServiceClientFromConnectionString(cfg.ConnectionString, nil); err != nil {
			return nil, fmt.Errorf("table client from %s: invalid connection string", config.EnvStorage)
		}
		if c.Queues, err = azqueue.NewServiceClientFromConnectionString(cfg.ConnectionString, nil); err != nil {
			return nil, fmt.Errorf("queue client from %s: invalid connection string", config.EnvStorage)
		}
		return &c, nil
	}
	if cred == nil {
		return nil, fmt.Errorf("identity-based storage access needs a credential")
	}
	if c.Blob, err = azblob.NewClient(cfg.BlobURL, cred, nil); err != nil {
		return nil, fmt.Errorf("blob client for %s: %w", cfg.BlobURL, err)
	}
	if c.Tables, err = aztables.NewServiceClient(cfg.TableURL, cred, nil); err != nil {
		return nil, fmt.Errorf("table client for %s: %w", cfg.TableURL, err)
	}
	if c.Queues, err = azqueue.NewServiceClient(cfg.QueueURL, cred, nil); err != nil {
		return nil, fmt.Errorf("queue client for %s: %w", cfg.QueueURL, err)
	}
	return &c, nil
}

// Ping checks that the blob and table services answer (used by health).
func (c *Clients) Ping(ctx context.Context) map[string]error {
	out := map[string]error{}
	_, err := c.Blob.ServiceClient().GetProperties(ctx, nil)
	out["blob"] = err
	pager := c.Tables.NewListTablesPager(&aztables.ListTablesOptions{Top: to(int32(1))})
	_, err = pager.NextPage(ctx)
	out["table"] = err
	_, err = c.Queues.GetServiceProperties(ctx, nil)
	out["queue"] = err
	return out
}

func to[T any](v T) *T { return &v }
