// Package wiring holds what joins the app's domains, so that no domain
// package imports another:
//   - directory.go: the registered environments of shared/connections as
//     the Directory of the backup engine (shared/backup) and of the restore
//     engine (shared/restore);
//   - engines.go: OpenStores opens the engines' stores on the storage
//     account (runs and tasks, restore jobs, blobs) and NewEngines builds
//     both engines on them and on that Directory.
//
// cmd/handler, the composition root, calls NewEngines; the functions tests
// build the app the same way, and the in-process engines of the engine
// tests and bench (testkit/inproc) open their stores through OpenStores.
package wiring
