package backupformat

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrNotFound is returned when a blob or container does not exist.
var ErrNotFound = errors.New("backupformat: blob not found")

// ErrExists is returned by Put with IfNotExists when the blob exists.
var ErrExists = errors.New("backupformat: blob already exists")

// PutOptions tune Put.
type PutOptions struct {
	ContentType string
	// IfNotExists makes Put fail with ErrExists instead of overwriting.
	IfNotExists bool
}

// BlobInfo describes a stored blob.
type BlobInfo struct {
	Name string
	Size int64
	ETag string
	// LastModified is set by List and Stat.
	LastModified time.Time
}

// Blobs is blob storage as the format needs it. Implementations: azure
// (azblob, for Azure and Azurite) and memory (tests).
//
// Semantics every implementation gives: a Put is atomic (readers see the old
// or the new content, never a part); read-after-write; Delete of a missing
// blob succeeds; Get/Stat of a missing blob return ErrNotFound; errors other
// than ErrNotFound/ErrExists are transient or configuration errors that the
// caller reports and the host's redelivery retries.
type Blobs interface {
	// Put streams r into the blob, creating the container when missing.
	Put(ctx context.Context, container, name string, r io.Reader, o *PutOptions) (BlobInfo, error)
	// Get opens the blob for reading.
	Get(ctx context.Context, container, name string) (io.ReadCloser, error)
	// Stat returns size and ETag.
	Stat(ctx context.Context, container, name string) (BlobInfo, error)
	// List returns the blobs whose names start with prefix, sorted by name.
	List(ctx context.Context, container, prefix string) ([]BlobInfo, error)
	// Delete removes a blob; a missing blob is not an error.
	Delete(ctx context.Context, container, name string) error
}

// MemoryBlobs is an in-memory Blobs for unit tests.
type MemoryBlobs struct {
	mu    sync.Mutex
	blobs map[string][]byte
	gen   int
	etags map[string]int
	mtime map[string]time.Time
}

var _ Blobs = (*MemoryBlobs)(nil)

// NewMemoryBlobs returns an empty store.
func NewMemoryBlobs() *MemoryBlobs {
	return &MemoryBlobs{blobs: map[string][]byte{}, etags: map[string]int{}, mtime: map[string]time.Time{}}
}

func key(c, n string) string { return c + "/" + n }

// Put implements Blobs.
func (m *MemoryBlobs) Put(ctx context.Context, c, n string, r io.Reader, o *PutOptions) (BlobInfo, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return BlobInfo{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if o != nil && o.IfNotExists {
		if _, ok := m.blobs[key(c, n)]; ok {
			return BlobInfo{}, ErrExists
		}
	}
	m.gen++
	m.blobs[key(c, n)] = data
	m.etags[key(c, n)] = m.gen
	m.mtime[key(c, n)] = time.Now()
	return BlobInfo{Name: n, Size: int64(len(data)), ETag: etagOf(m.gen)}, nil
}

func etagOf(g int) string { return strconv.Quote(strconv.Itoa(g)) }

// Get implements Blobs.
func (m *MemoryBlobs) Get(ctx context.Context, c, n string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.blobs[key(c, n)]
	if !ok {
		return nil, ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(d)), nil
}

// Stat implements Blobs.
func (m *MemoryBlobs) Stat(ctx context.Context, c, n string) (BlobInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.blobs[key(c, n)]
	if !ok {
		return BlobInfo{}, ErrNotFound
	}
	return BlobInfo{Name: n, Size: int64(len(d)), ETag: etagOf(m.etags[key(c, n)]), LastModified: m.mtime[key(c, n)]}, nil
}

// List implements Blobs.
func (m *MemoryBlobs) List(ctx context.Context, c, prefix string) ([]BlobInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []BlobInfo
	for k, d := range m.blobs {
		if strings.HasPrefix(k, key(c, prefix)) {
			n := strings.TrimPrefix(k, c+"/")
			out = append(out, BlobInfo{Name: n, Size: int64(len(d)), ETag: etagOf(m.etags[k]), LastModified: m.mtime[k]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete implements Blobs.
func (m *MemoryBlobs) Delete(ctx context.Context, c, n string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.blobs, key(c, n))
	return nil
}
