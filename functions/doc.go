// Package functions holds the thin handlers of the Azure Functions: each
// function folder next to this file (<FunctionName>/function.json) has a Go
// handler here that decodes the invocation, calls the domain package and
// encodes the result. Definitions() is the single list of functions, their
// triggers and bindings; a test checks every function.json against it.
//
// The handlers build nothing: New(Deps) takes the engines, the connections
// service, the audit log and the storage to ping, built once by cmd/handler
// (the composition root), and refuses a Deps with a part missing.
//
// The admin API (api.go: routes() is the single list of endpoints) answers
// every refusal as RFC 9457 problem+json (problem.go: the one place domain
// errors become statuses, with details that say what to fix and carry no
// internal text). Input is checked before anything is written: strict
// bodies (api_decode.go, refused bodies drained so the answer reaches a
// forwarding host), clean paths, and names checked against the run they
// refer to (runcheck.go). While storage does not answer, requests are
// answered 503 with Retry-After (storagegate.go: a shared probe gates the
// handlers; concurrent callers wait for the probe in flight).
package functions
