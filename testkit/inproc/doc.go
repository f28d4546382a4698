// Package inproc runs the backup and restore engines in the test or
// benchmark process, against Azurite's storage and the Dataverse simulator,
// the way the engine tests (shared/backup, shared/restore) and make bench
// need them, so none of them builds the pieces its own way:
//
//   - SimClient: a Dataverse client of a simulated environment signing in
//     with a real azidentity client-secret credential against the
//     simulator's Entra ID;
//   - OpenStores: the engines' stores on Azurite (runs and tasks, restore
//     jobs, blobs), opened by wiring.OpenStores as the handler opens them;
//   - Handlers: the one dispatch of the engines' queues for testkit/pump
//     (backup.Engine.Handle for scan, extract and files; the restore queue's
//     messages decoded and handed to restore.Engine.Handle).
package inproc
