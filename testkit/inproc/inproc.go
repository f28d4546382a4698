package inproc

import (
	"context"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/storageaccount"
	"github.com/cloudbackup-d365/cloudbackup/testkit/pump"
	"github.com/cloudbackup-d365/cloudbackup/wiring"
)

// SimClient returns a client of the simulated environment at url acting as
// app: a real client-secret credential against the simulator's Entra ID,
// and Web API calls through rt (nil: a transport that trusts the
// simulator's CA).
func SimClient(sim *dataversesim.Server, url string, app dataversesim.AppClient, rt http.RoundTripper) (*dataverse.Client, error) {
	cred, err := azidentity.NewClientSecretCredential(sim.TenantID(), app.ClientID, app.Secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: sim.AuthorityHost}, Transport: sim.Client()},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		return nil, fmt.Errorf("credential of %s: %w", app.ClientID, err)
	}
	if rt == nil {
		return dataverse.NewClient(url, cred, &dataverse.ClientOptions{ExtraCA: sim.CAPEM()})
	}
	return dataverse.NewClient(url, cred, &dataverse.ClientOptions{Transport: rt})
}

// OpenStores opens the engines' stores (wiring.OpenStores, as the handler
// opens them) on the storage account of connectionString (Azurite's),
// creating their tables.
func OpenStores(ctx context.Context, connectionString string) (*wiring.Stores, error) {
	tables, err := aztables.NewServiceClientFromConnectionString(connectionString, nil)
	if err != nil {
		return nil, err
	}
	bc, err := azblob.NewClientFromConnectionString(connectionString, nil)
	if err != nil {
		return nil, err
	}
	return wiring.OpenStores(ctx, &storageaccount.Clients{Tables: tables, Blob: bc}, nil)
}

// Handlers returns the pump's handlers of the backup queues (bk.Handle)
// and, when rs is not nil, of the restore queue. A restore message that
// does not decode is an error like any failure: the pump delivers it again
// and finally sets it aside as poison, where the test sees it.
func Handlers(bk *backup.Engine, rs *restore.Engine) pump.Handlers {
	hs := pump.Handlers{}.On(bk.Handle, backup.Queues()...)
	if rs == nil {
		return hs
	}
	return hs.On(func(ctx context.Context, _ string, body []byte, delivery int) error {
		m, err := restore.DecodeMessage(body)
		if err != nil {
			return err
		}
		return rs.Handle(ctx, m, delivery)
	}, messaging.QueueRestore)
}
