package wiring

import (
	"context"
	"log/slog"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
	"github.com/cloudbackup-d365/cloudbackup/shared/storageaccount"
)

// EngineParts are what the engines are built on.
type EngineParts struct {
	// Storage holds the run state, the restore jobs (tables) and the
	// backups (blobs).
	Storage *storageaccount.Clients
	// Sender sends the engines' queue messages.
	Sender messaging.Sender
	// Connections gives the engines the registered environments and their
	// clients (through Directory).
	Connections *connections.Service
	// MaxDeliveries is the queues' max delivery count
	// (BACKUP_MAX_DELIVERY_COUNT; 0: the engines' default).
	MaxDeliveries int
	Log           *slog.Logger
	// Now is the engines' and the run store's clock (default time.Now).
	Now func() time.Time
}

// Engines are the app's two engines, sharing one blob store and one
// environment directory.
type Engines struct {
	Backup  *backup.Engine
	Restore *restore.Engine
}

// Stores are the engines' stores on the app's storage account: runs and
// table tasks, restore jobs and their results (tables), backups and files
// (blobs).
type Stores struct {
	Runs  *runstate.Store
	Jobs  *restore.Store
	Blobs blobstore.Store
}

// OpenStores opens the engines' stores on storage's table and blob clients,
// creating missing tables; now is the run store's clock (nil: time.Now).
// NewEngines builds on it, and so do the in-process engines of tests and
// bench (testkit/inproc).
func OpenStores(ctx context.Context, storage *storageaccount.Clients, now func() time.Time) (*Stores, error) {
	if now == nil {
		now = time.Now
	}
	runs, err := runstate.OpenWithClock(ctx, storage.Tables, now)
	if err != nil {
		return nil, err
	}
	jobs, err := restore.OpenStore(ctx, storage.Tables)
	if err != nil {
		return nil, err
	}
	return &Stores{Runs: runs, Jobs: jobs, Blobs: blobstore.NewAzure(storage.Blob)}, nil
}

// NewEngines opens the engines' stores (creating missing tables) and
// builds the engines. An unreachable storage account is an error here, at
// start, not on the first invocation.
func NewEngines(ctx context.Context, p EngineParts) (*Engines, error) {
	if p.Now == nil {
		p.Now = time.Now
	}
	st, err := OpenStores(ctx, p.Storage, p.Now)
	if err != nil {
		return nil, err
	}
	dir := NewDirectory(p.Connections)
	return &Engines{
		Backup: backup.New(dir, st.Runs, st.Blobs, p.Sender, backup.Options{
			MaxDeliveries: p.MaxDeliveries, Log: p.Log, Now: p.Now}),
		Restore: restore.New(dir, st.Jobs, st.Blobs, p.Sender, restore.Options{
			MaxDeliveries: p.MaxDeliveries, Log: p.Log, Now: p.Now}),
	}, nil
}
