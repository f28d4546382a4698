// Package azurite starts the Azurite storage emulator (blob, queue, table) for
// tests and for local runs.
//
// Azurite is the npm package pinned in the repository's package.json and
// installed by `npm ci` into node_modules (make test runs it first). Each
// instance listens on 127.0.0.1 on ports the OS picks, keeps its data in memory
// only, and runs in its own process group, which Stop (and, under Start, the
// test's cleanup) kills. Restart stops and starts it again on the same ports
// where it can, for fault tests: in-memory data does not survive a restart,
// so queues, containers and tables must be created again afterwards.
//
// Most test packages share one instance per test binary: Shared starts it
// on first use and RunShared, as the package's TestMain, stops it at exit.
// Start gives a test an instance of its own (for Restart and Stop).
//
// The account is Azurite's well-known development account (devstoreaccount1
// and its published key): it is not a secret.
package azurite
