// Package audit records every change made through the admin API and every
// restore in the "audit" table: who, what, when, from where, and the outcome.
// Entries are append-only JSON documents on tablestore (TableLog; NewLog
// takes any tablestore.Store, such as the in-memory one); the row key
// orders them newest first.
//
// An entry never holds secret material: callers pass identifiers and
// summaries, not request bodies.
package audit
