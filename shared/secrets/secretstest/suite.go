package secretstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/secrets"
)

// Run checks the Store contract on s. prefix keeps names of parallel runs apart.
func Run(t *testing.T, s secrets.Store, prefix string) {
	ctx := context.Background()
	name := func(n string) string { return prefix + "-" + n }
	t.Run("missing", func(t *testing.T) {
		if _, err := s.Get(ctx, name("missing")); !errors.Is(err, secrets.ErrNotFound) {
			t.Errorf("Get(missing) = %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, name("missing")); err != nil {
			t.Errorf("Delete(missing) = %v, want nil", err)
		}
	})
	t.Run("roundtrip", func(t *testing.T) {
		bin := []byte{0, 1, 2, 0xff, '\n', 'x'}
		for n, v := range map[string][]byte{"text": []byte("s3cr3t~value._-"), "binary": bin, "large": bytes.Repeat([]byte{0xa5}, secrets.MaxValueBytes)} {
			if err := s.Set(ctx, name(n), v); err != nil {
				t.Fatalf("Set %s: %v", n, err)
			}
			got, err := s.Get(ctx, name(n))
			if err != nil || !bytes.Equal(got, v) {
				t.Fatalf("Get %s = %d bytes, %v", n, len(got), err)
			}
		}
	})
	t.Run("replace", func(t *testing.T) {
		n := name("rotate")
		if err := s.Set(ctx, n, []byte("old-value")); err != nil {
			t.Fatal(err)
		}
		if err := s.Set(ctx, n, []byte("new-value")); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, n); err != nil || string(got) != "new-value" {
			t.Fatalf("after replace: %q, %v", got, err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		n := name("gone")
		if err := s.Set(ctx, n, []byte("v")); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, n); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, n); !errors.Is(err, secrets.ErrNotFound) {
			t.Errorf("Get after Delete = %v", err)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		for _, bad := range []string{"", "a/b", "../x", "a_b", "a.b", strings.Repeat("a", 128), "x y"} {
			if err := s.Set(ctx, bad, []byte("v")); !errors.Is(err, secrets.ErrInvalidName) {
				t.Errorf("Set(%q) = %v, want ErrInvalidName", bad, err)
			}
			if _, err := s.Get(ctx, bad); !errors.Is(err, secrets.ErrInvalidName) {
				t.Errorf("Get(%q) = %v, want ErrInvalidName", bad, err)
			}
		}
		if err := s.Set(ctx, name("big"), make([]byte, secrets.MaxValueBytes+1)); !errors.Is(err, secrets.ErrTooLarge) {
			t.Errorf("Set(too large) = %v", err)
		}
		if err := s.Set(ctx, name("empty"), nil); err == nil {
			t.Error("Set(empty) accepted")
		}
	})
	t.Run("errors hold no value", func(t *testing.T) {
		const v = "ThisValueMustNeverAppear-123"
		if err := s.Set(ctx, "bad name", []byte(v)); err == nil || strings.Contains(err.Error(), v) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := name(fmt.Sprintf("c%d", i))
				if err := s.Set(ctx, n, []byte(n)); err != nil {
					errs <- err
					return
				}
				if got, err := s.Get(ctx, n); err != nil || string(got) != n {
					errs <- fmt.Errorf("get %s = %q, %v", n, got, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}
