package functions

import (
	"log/slog"

	"github.com/cloudbackup-d365/cloudbackup/shared/config"
	"github.com/cloudbackup-d365/cloudbackup/shared/customhandler"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/storageaccount"
)

// App holds what the handlers need. cmd/handler builds it from configuration;
// tests build it against Azurite.
type App struct {
	Log     *slog.Logger
	Config  *config.Config
	Storage *storageaccount.Clients
	Sender  messaging.Sender
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
}
