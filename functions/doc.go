// Package functions holds the thin handlers of the Azure Functions: each
// function folder next to this file (<FunctionName>/function.json) has a Go
// handler here that decodes the invocation, calls the domain package and
// encodes the result. Definitions() is the single list of functions, their
// triggers and bindings; a test checks every function.json against it.
//
// The handlers build nothing: New(Deps) takes the engines, the connections
// service, the audit log and the storage to ping, built once by cmd/handler
// (the composition root), and refuses a Deps with a part missing.
package functions
