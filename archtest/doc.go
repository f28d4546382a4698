// Package archtest holds the architecture's acceptance checks as tests that
// can fail (see docs/architecture.md for the layers they enforce). They read
// the module's package graph with `go list -json ./...` and the handlers'
// source with go/parser, and check:
//
//   - every package has a layer, and a package imports only packages of
//     lower layers (seams and utilities never import the format, the state
//     stores or a domain; nothing in the app imports test tooling);
//   - no domain depends on another domain (backup, restore with
//     restore/plan, connections), directly or through anything else;
//   - no handler (package functions) builds a store or an engine: it
//     imports no storage SDK client, storage account or wiring, and calls
//     no constructor of a store, engine, sender or service;
//   - no non-test Go file is over 500 lines (dataversesim excepted);
//   - every package has a doc.go holding its package comment, and no other
//     file has one.
//
// Each rule is also run against a small invented graph with one violation,
// so a rule that stopped finding anything would fail.
package archtest
