package functions

import (
	"log/slog"
	"sync"

	"github.com/cloudbackup-d365/cloudbackup/shared/audit"
	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/config"
	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/customhandler"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/storageaccount"
)

// App holds what the handlers need. cmd/handler builds it from configuration;
// tests build it against Azurite.
type App struct {
	Log     *slog.Logger
	Config  *config.Config
	Storage *storageaccount.Clients
	Sender  messaging.Sender

	// Backup is the backup engine; built on first use from Storage, Sender
	// and BackupDirectory when not set (functions/triggers.go).
	Backup          *backup.Engine
	BackupDirectory backup.Directory
	backupMu        sync.Mutex

	// Connections is the connections domain behind /api/connections and
	// /api/environments; Audit records every change made through the API.
	// cmd/handler builds both (see functions/api.go for what is required).
	Connections *connections.Service
	Audit       audit.Log

	// Restore is the restore engine; built on first use from Storage,
	// Sender and RestoreDirectory (default: Connections) when not set
	// (functions/restore.go).
	Restore          *restore.Engine
	RestoreDirectory restore.Directory
	restoreMu        sync.Mutex
}

// Register wires every function of Definitions() into s.
func (a *App) Register(s *customhandler.Server) {
	for _, d := range Definitions() {
		if d.Trigger == HTTPTrigger {
			continue // served by the API router below (forwarded requests)
		}
		s.HandleTrigger(d.Name, a.trigger(d))
	}
	s.HandleAPI(a.Router())
	s.HandleTrigger(RestoreRecords, a.restoreRecords)
}
