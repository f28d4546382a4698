// Package config loads the handler's typed configuration from environment
// variables (Function App settings) and validates it at start, so a missing or
// malformed setting is reported by name before any work is attempted.
package config
