package functions

import (
	"net/http"
	"strconv"

	"github.com/cloudbackup-d365/cloudbackup/shared/audit"
)

// listAudit returns the newest audit entries (?limit=, default 100).
func (a *App) listAudit(w http.ResponseWriter, r *http.Request) error {
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return bad("limit", "must be 1-1000")
		}
		limit = n
	}
	es, err := a.audit.List(r.Context(), limit)
	if err != nil {
		return err
	}
	if es == nil {
		es = []audit.Entry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": es})
	return nil
}
