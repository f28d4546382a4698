// Package blobstoretest is the conformance suite of blobstore.Store: every
// implementation runs Run, so unit tests on the in-memory store rely only on
// behaviour the Azure store has too.
package blobstoretest
