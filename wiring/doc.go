// Package wiring holds the adapters between the app's domains, so that no
// domain package imports another: the registered environments of
// shared/connections become the Directory of the backup engine
// (shared/backup) and of the restore engine (shared/restore). cmd/handler,
// the composition root, builds the stores and engines and joins them with
// these adapters; tests that run the engines on a connections service use
// the same adapters.
package wiring
