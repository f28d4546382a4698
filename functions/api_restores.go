package functions

import "net/http"

// restoresNotYet reserves the restore routes (the restore engine issue
// implements them); authorization already applies.
func (a *App) restoresNotYet(w http.ResponseWriter, r *http.Request) error {
	return errStatus(http.StatusNotImplemented, "not_implemented", "restores arrive with the restore engine; the route is reserved")
}
