package dataversesim

import (
	"strings"
)

// Errors of the OData layer worded as Dataverse words them. Messages never
// carry Go error text or simulator internals: a client sees what it would
// see from Microsoft's service.

// Error codes Microsoft documents for common client errors
// (MicrosoftDocs/SupportArticles-docs, support/power-platform/dataverse/
// dataverse-web-api-and-sdk/web-api-client-errors.md).
const (
	codeNoSegment  = "0x8006088a" // 404 "Resource not found for the segment '<x>'."
	codeNoProperty = "0x0"        // 400 "Could not find a property named '<x>' on type '<type>'."
	codeNoResource = ""           // 404 "No HTTP resource was found that matches the request URI '<uri>'."
	codePayload    = "0x80048d19" // 400 "Error identified in Payload provided by the user for Entity :'<set>' ..."
	// codeAggregateLimit is AggregateQueryRecordLimit (powerapps-docs,
	// developer/data-platform/fetchxml/aggregate-data.md, "Per query limit").
	codeAggregateLimit = "0x8004e023"
	// codeMetadataQuery answers RetrieveMetadataChanges' bad input: "Invalid
	// version stamp", "The type EntityMetadata does not have a property
	// named X" (the wording users report from Dataverse).
	codeMetadataQuery = "0x80044183"
)

// apiVersions are the Web API versions served. Microsoft documents v9.0,
// v9.1 and v9.2 as identical (powerapps-docs, developer/data-platform/
// webapi/web-api-versions.md: "Each of these releases has identical Web API
// behaviors").
var apiVersions = []string{"v9.0", "v9.1", "v9.2"}

// apiVersion returns the version segment of a Web API path
// (/api/data/v9.1/accounts -> "v9.1").
func apiVersion(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/api/data/")
	if !ok {
		return "", false
	}
	v, _, _ := strings.Cut(rest, "/")
	for _, known := range apiVersions {
		if v == known {
			return v, true
		}
	}
	return "", false
}

// apiRest is the part of a Web API path after /api/data/<version>.
func apiRest(path string) string {
	if v, ok := apiVersion(path); ok {
		return strings.TrimPrefix(path, "/api/data/"+v)
	}
	return path
}

// noProperty is the 400 for an unknown property in $select, $filter,
// $orderby or $expand.
func noProperty(name, typeName string) *dvError {
	return errf(400, codeNoProperty, "Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", name, typeName)
}

// noSegment is the 404 for an unknown resource (entity set, function,
// action or navigation property) in a path.
func noSegment(name string) *dvError {
	return errf(404, codeNoSegment, "Resource not found for the segment '%s'.", name)
}

// noResource is the 404 Dataverse answers when a function or action is
// called with the wrong HTTP method (GET for an action, POST for a function).
func noResource(rc *reqCtx) *dvError {
	return errf(404, codeNoResource, "No HTTP resource was found that matches the request URI '%s'.", rc.e.url+rc.r.URL.Path)
}

// unsupportedQueryOption is the 400 for a system query option Dataverse does
// not support (reference 1: $skip, $search, $format) or the simulator does
// not implement: refused, never silently ignored.
func unsupportedQueryOption(name string) *dvError {
	return errf(400, codeBadRequest, "The query parameter %s is not supported", name)
}

// filterSyntax is the 400 for a $filter the parser cannot read, in the
// OData library's wording ("Syntax error at position N in '<filter>'.").
func filterSyntax(pos int, filter string) *dvError {
	return errf(400, codeBadRequest, "Syntax error at position %d in '%s'.", pos, filter)
}
