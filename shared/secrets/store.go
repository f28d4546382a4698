package secrets

import (
	"context"
	"errors"
	"fmt"
	"regexp"
)

// Store holds named secret values. Implementations are safe for concurrent use.
//
// Error contract: Get of a missing name returns an error wrapping ErrNotFound;
// Delete of a missing name succeeds (idempotent); an invalid name wraps
// ErrInvalidName. Errors never contain secret values.
type Store interface {
	// Get returns the current value of name.
	Get(ctx context.Context, name string) ([]byte, error)
	// Set creates name or replaces its value (Key Vault keeps the old
	// version; the local store does not).
	Set(ctx context.Context, name string, value []byte) error
	// Delete removes name.
	Delete(ctx context.Context, name string) error
	// Kind names the implementation ("keyvault" or "local") for health and logs.
	Kind() string
}

// ErrNotFound is wrapped by Get for a missing secret.
var ErrNotFound = errors.New("secrets: not found")

// ErrInvalidName is wrapped when a name is not 1-127 of [0-9a-zA-Z-] (Key
// Vault's rule, applied to both stores so names are portable).
var ErrInvalidName = errors.New("secrets: invalid name")

var reName = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)

// MaxValueBytes caps a value: Key Vault accepts 25 KB per secret; values
// are base64 encoded there, so raw bytes are limited to 18 KB.
const MaxValueBytes = 18 << 10

// ErrTooLarge is wrapped by Set when a value exceeds MaxValueBytes.
var ErrTooLarge = errors.New("secrets: value too large")

func checkName(name string) error {
	if !reName.MatchString(name) {
		return fmt.Errorf("%w: %q must be 1-127 letters, digits or dashes", ErrInvalidName, name)
	}
	return nil
}

func checkValue(v []byte) error {
	if len(v) == 0 {
		return errors.New("secrets: empty value")
	}
	if len(v) > MaxValueBytes {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(v), MaxValueBytes)
	}
	return nil
}
