// Package guid checks identifiers in the canonical 8-4-4-4-12 hex GUID form:
// Dataverse record and user ids, Entra tenant and client ids.
package guid
