package blobstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Memory is a Store in memory for unit tests: a map under a mutex.
type Memory struct {
	// Now stamps LastModified (nil = time.Now): tests that age blobs set
	// it before use.
	Now func() time.Time

	mu    sync.Mutex
	gen   int
	blobs map[string]memBlob // key: container + "/" + name
}

type memBlob struct {
	data  []byte
	etag  string
	mtime time.Time
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty store.
func NewMemory() *Memory { return &Memory{blobs: map[string]memBlob{}} }

func key(c, n string) string { return c + "/" + n }

func (b memBlob) info(name string) Info {
	return Info{Name: name, Size: int64(len(b.data)), ETag: b.etag, LastModified: b.mtime}
}

// Put implements Store.
func (m *Memory) Put(ctx context.Context, c, n string, r io.Reader, o *PutOptions) (Info, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Info{}, fmt.Errorf("put %s/%s: %w", c, n, err)
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if o != nil && o.IfNotExists {
		if _, ok := m.blobs[key(c, n)]; ok {
			return Info{}, fmt.Errorf("put %s/%s: %w", c, n, ErrExists)
		}
	}
	m.gen++
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	b := memBlob{data: data, etag: strconv.Quote(strconv.Itoa(m.gen)), mtime: now().UTC()}
	m.blobs[key(c, n)] = b
	return b.info(n), nil
}

func (m *Memory) get(ctx context.Context, c, n string) (memBlob, error) {
	if err := ctx.Err(); err != nil {
		return memBlob{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[key(c, n)]
	if !ok {
		return memBlob{}, fmt.Errorf("%s/%s: %w", c, n, ErrNotFound)
	}
	return b, nil
}

// Get implements Store.
func (m *Memory) Get(ctx context.Context, c, n string) (io.ReadCloser, error) {
	b, err := m.get(ctx, c, n)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(b.data)), nil
}

// Stat implements Store.
func (m *Memory) Stat(ctx context.Context, c, n string) (Info, error) {
	b, err := m.get(ctx, c, n)
	if err != nil {
		return Info{}, err
	}
	return b.info(n), nil
}

// List implements Store: the names are taken when the loop starts, the
// blobs read as it goes (a blob deleted meanwhile is left out).
func (m *Memory) List(ctx context.Context, c, prefix string) iter.Seq2[Info, error] {
	return func(yield func(Info, error) bool) {
		m.mu.Lock()
		var names []string
		for k := range m.blobs {
			if n, ok := strings.CutPrefix(k, c+"/"); ok && strings.HasPrefix(n, prefix) {
				names = append(names, n)
			}
		}
		m.mu.Unlock()
		slices.Sort(names)
		for _, n := range names {
			if err := ctx.Err(); err != nil {
				yield(Info{}, err)
				return
			}
			m.mu.Lock()
			b, ok := m.blobs[key(c, n)]
			m.mu.Unlock()
			if ok && !yield(b.info(n), nil) {
				return
			}
		}
	}
}

// Delete implements Store.
func (m *Memory) Delete(ctx context.Context, c, n string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.blobs, key(c, n))
	return nil
}
