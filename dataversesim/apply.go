package dataversesim

import (
	"net/http"
	"net/url"
)

func (e *Env) aggregate(rc *reqCtx, w http.ResponseWriter, td *tableData, q url.Values, p prefs) {
	writeDVError(w, unsupportedQueryOption("$apply"))
}
