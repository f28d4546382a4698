// Package azerr reads Azure SDK errors the same way in every package: the
// service's error code, the HTTP status, and a one-line message without the
// request dump the SDK appends (which is noise in logs and API answers).
package azerr
