package dataversesim

import (
	"net/http"
	"strings"
)

// serveCSDL answers $metadata with the entity container (entity sets and
// their keys), enough for clients that read entity set names from it.
func (e *Env) serveCSDL(rc *reqCtx, w http.ResponseWriter) {
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0" encoding="utf-8"?><edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices><Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">`)
	for _, t := range e.sch().tables {
		sb.WriteString(`<EntityType Name="` + t.LogicalName + `"><Key><PropertyRef Name="` + t.PrimaryID + `"/></Key></EntityType>`)
	}
	sb.WriteString(`<EntityContainer Name="System">`)
	for _, t := range e.sch().tables {
		sb.WriteString(`<EntitySet Name="` + t.SetName + `" EntityType="Microsoft.Dynamics.CRM.` + t.LogicalName + `"/>`)
	}
	sb.WriteString(`</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>`)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(200)
	w.Write([]byte(sb.String()))
}
