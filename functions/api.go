package functions

import (
	"net/http"
)

// Router is the admin HTTP API (requests forwarded by the host under /api/).
func (a *App) Router() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/health", a.health)
	for _, area := range []string{"connections", "environments", "backups", "restores"} {
		mux.HandleFunc("/api/"+area, a.notYet(area))
		mux.HandleFunc("/api/"+area+"/", a.notYet(area))
	}
	mux.HandleFunc("GET /api/openapi.json", a.notYet("openapi.json"))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, "Not Found", "no API route "+r.Method+" "+r.URL.Path)
	})
	return mux
}

func (a *App) notYet(area string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotImplemented, "Not Implemented",
			"the /api/"+area+" endpoints are declared but not implemented yet")
	}
}
