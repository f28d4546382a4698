// Package functions holds the thin handlers of the Azure Functions: each
// function folder next to this file (<FunctionName>/function.json) has a Go
// handler here that decodes the invocation, calls the domain package and
// encodes the result. Definitions() is the single list of functions, their
// triggers and bindings; a test checks every function.json against it.
package functions
