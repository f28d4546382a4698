package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// Local is the dev-only Store: one AES-256-GCM encrypted file per secret in a
// directory, with the key in a 0600 file next to them (generated on first
// use). It protects against secrets lying around in clear text in a working
// copy, not against someone who can read the directory; Open refuses it in Azure.
type Local struct {
	dir string
	mu  sync.Mutex
	gcm cipher.AEAD
}

var _ Store = (*Local)(nil)

const keyFile = "local-secrets.key"

// NewLocal opens (creating when needed) the local store in dir.
func NewLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("secrets: local store: %w", err)
	}
	kp := filepath.Join(dir, keyFile)
	key, err := os.ReadFile(kp)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.WriteFile(kp, key, 0o600); err != nil {
			return nil, fmt.Errorf("secrets: local store key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("secrets: local store key: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("secrets: local store key %s is not 32 bytes", kp)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Local{dir: dir, gcm: gcm}, nil
}

// Kind implements Store.
func (l *Local) Kind() string { return "local" }

func (l *Local) path(name string) string { return filepath.Join(l.dir, name+".secret") }

// Get implements Store.
func (l *Local) Get(ctx context.Context, name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, err := os.ReadFile(l.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("secrets: get %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("secrets: get %s: %w", name, err)
	}
	ns := l.gcm.NonceSize()
	if len(b) < ns {
		return nil, fmt.Errorf("secrets: get %s: corrupt file", name)
	}
	v, err := l.gcm.Open(nil, b[:ns], b[ns:], []byte(name))
	if err != nil {
		return nil, fmt.Errorf("secrets: get %s: cannot decrypt (key changed?)", name)
	}
	return v, nil
}

// Set implements Store.
func (l *Local) Set(ctx context.Context, name string, value []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := checkValue(value); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	nonce := make([]byte, l.gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	out := l.gcm.Seal(nonce, nonce, value, []byte(name))
	l.mu.Lock()
	defer l.mu.Unlock()
	tmp := l.path(name) + ".tmp"
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		return fmt.Errorf("secrets: set %s: %w", name, err)
	}
	if err := os.Rename(tmp, l.path(name)); err != nil {
		return fmt.Errorf("secrets: set %s: %w", name, err)
	}
	return nil
}

// Delete implements Store.
func (l *Local) Delete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := os.Remove(l.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("secrets: delete %s: %w", name, err)
	}
	return nil
}
