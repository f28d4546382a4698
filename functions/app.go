package functions

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/audit"
	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/config"
	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/customhandler"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
)

// Deps are the parts the handlers call. cmd/handler, the composition root,
// builds them from configuration; tests build them against Azurite and the
// simulator. Every field is required except Now.
type Deps struct {
	Log    *slog.Logger
	Config *config.Config
	// Backup and Restore are the engines behind the queue triggers, the
	// timers and /api/backups, /api/restores.
	Backup  *backup.Engine
	Restore *restore.Engine
	// Connections is the connections domain behind /api/connections and
	// /api/environments; Audit records every change made through the API.
	Connections *connections.Service
	Audit       audit.Log
	// Storage is what GET /api/health pings.
	Storage Pinger
	// Now is the clock of run durations, next scheduled runs and audit
	// entries (default time.Now).
	Now func() time.Time
}

// Pinger reports, per storage service (blob, queue, table), whether it
// answers: nil, or why not.
type Pinger interface {
	Ping(ctx context.Context) map[string]error
}

// App holds the handlers' dependencies; New builds it.
type App struct {
	log         *slog.Logger
	cfg         *config.Config
	backup      *backup.Engine
	restore     *restore.Engine
	connections *connections.Service
	audit       audit.Log
	storage     Pinger
	gate        *storageGate
	now         func() time.Time
}

// New returns the app of d, or an error naming every missing dependency.
func New(d Deps) (*App, error) {
	var missing []string
	for _, f := range []struct {
		name   string
		absent bool
	}{
		{"Log", d.Log == nil}, {"Config", d.Config == nil}, {"Backup", d.Backup == nil}, {"Restore", d.Restore == nil},
		{"Connections", d.Connections == nil}, {"Audit", d.Audit == nil}, {"Storage", d.Storage == nil},
	} {
		if f.absent {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, errors.New("functions.New: Deps." + strings.Join(missing, ", Deps.") + " required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &App{log: d.Log, cfg: d.Config, backup: d.Backup, restore: d.Restore, connections: d.Connections,
		audit: d.Audit, storage: d.Storage, gate: &storageGate{ping: d.Storage, log: d.Log, now: time.Now}, now: d.Now}, nil
}

// Register wires every function of Definitions() into s: the timers, the
// queue consumers (backup queues to the backup engine, the restore queue to
// the restore engine) and the API router behind the HTTP functions.
func (a *App) Register(s *customhandler.Server) {
	for _, d := range Definitions() {
		switch {
		case d.Trigger == HTTPTrigger:
			continue // served by the API router below (forwarded requests)
		case d.Trigger == TimerTrigger:
			s.HandleTrigger(d.Name, a.timer(d))
		case d.Name == RestoreRecords:
			s.HandleTrigger(d.Name, a.restoreRecords)
		default:
			s.HandleTrigger(d.Name, a.backupMessage(d))
		}
	}
	s.HandleAPI(a.Router())
}
