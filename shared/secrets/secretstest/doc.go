// Package secretstest is the conformance suite every secrets.Store passes.
package secretstest
