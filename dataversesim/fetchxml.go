package dataversesim

import (
	"net/http"
	"net/url"
)

func (e *Env) fetchXML(rc *reqCtx, w http.ResponseWriter, td *tableData, q url.Values, p prefs) {
	writeDVError(w, unsupportedQueryOption("fetchXml"))
}
