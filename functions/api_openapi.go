package functions

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is the OpenAPI 3.1 description of the admin API, kept in the
// repository next to this file; a test checks it lists exactly routes().
//
//go:embed openapi.json
var openAPIDoc []byte

func (a *App) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err := w.Write(openAPIDoc)
	return err
}
