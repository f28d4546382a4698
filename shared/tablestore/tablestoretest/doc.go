// Package tablestoretest is the conformance suite of tablestore.Store: every
// implementation runs Run, so engine tests on the in-memory store rely only
// on behaviour the Azure store has too.
package tablestoretest
