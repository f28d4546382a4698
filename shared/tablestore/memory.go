package tablestore

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Memory is a Store in memory, for engine unit tests: a map under a mutex.
// It keeps entities in the same encoded form as Azure and applies the same
// rules, so a test that passes on Memory does not depend on a laxer store.
type Memory struct {
	table string

	mu   sync.Mutex
	gen  int
	rows map[string]memRow // key: partition + "\x00" + row
}

type memRow struct {
	raw  []byte
	etag ETag
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty table; table names it in error messages.
func NewMemory(table string) *Memory {
	return &Memory{table: table, rows: map[string]memRow{}}
}

func memKey(pk, rk string) string { return pk + "\x00" + rk }

func (m *Memory) where(pk, rk string) string { return m.table + " " + pk + "/" + rk }

// put stores raw under a new ETag; m.mu is held.
func (m *Memory) put(pk, rk string, raw []byte) ETag {
	m.gen++
	et := ETag(`W/"` + strconv.Itoa(m.gen) + `"`)
	m.rows[memKey(pk, rk)] = memRow{raw: raw, etag: et}
	return et
}

func (m *Memory) read(r memRow) (Entity, error) {
	e, err := decode(r.raw)
	if err != nil {
		return Entity{}, fmt.Errorf("%s: %w", m.table, err)
	}
	e.ETag = r.etag
	return e, nil
}

// Get implements Store.
func (m *Memory) Get(ctx context.Context, pk, rk string) (Entity, error) {
	if err := m.checkKeys(ctx, "get", pk, rk); err != nil {
		return Entity{}, err
	}
	m.mu.Lock()
	r, ok := m.rows[memKey(pk, rk)]
	m.mu.Unlock()
	if !ok {
		return Entity{}, fmt.Errorf("get %s: %w", m.where(pk, rk), ErrNotFound)
	}
	return m.read(r)
}

// Insert implements Store.
func (m *Memory) Insert(ctx context.Context, e Entity) (ETag, error) {
	raw, err := m.encode(ctx, e)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.rows[memKey(e.PartitionKey, e.RowKey)]; ok {
		return "", fmt.Errorf("insert %s: %w (exists)", m.where(e.PartitionKey, e.RowKey), ErrConflict)
	}
	return m.put(e.PartitionKey, e.RowKey, raw), nil
}

// Replace implements Store.
func (m *Memory) Replace(ctx context.Context, e Entity, ifMatch ETag) (ETag, error) {
	if ifMatch == "" {
		return "", fmt.Errorf("replace %s: %w: no ETag to match (use Upsert to write unconditionally)", m.where(e.PartitionKey, e.RowKey), ErrInvalid)
	}
	raw, err := m.encode(ctx, e)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.rows[memKey(e.PartitionKey, e.RowKey)]
	switch {
	case !ok:
		return "", fmt.Errorf("replace %s: %w", m.where(e.PartitionKey, e.RowKey), ErrNotFound)
	case ifMatch != "*" && cur.etag != ifMatch:
		return "", fmt.Errorf("replace %s: %w (ETag changed)", m.where(e.PartitionKey, e.RowKey), ErrConflict)
	}
	return m.put(e.PartitionKey, e.RowKey, raw), nil
}

// Upsert implements Store.
func (m *Memory) Upsert(ctx context.Context, e Entity) (ETag, error) {
	raw, err := m.encode(ctx, e)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.put(e.PartitionKey, e.RowKey, raw), nil
}

// UpsertBatch implements Store. Every entity is checked before any is
// written, as a transaction would.
func (m *Memory) UpsertBatch(ctx context.Context, es []Entity) error {
	raws := make([][]byte, len(es))
	for i, e := range es {
		raw, err := m.encode(ctx, e)
		if err != nil {
			return err
		}
		raws[i] = raw
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, e := range es {
		m.put(e.PartitionKey, e.RowKey, raws[i])
	}
	return nil
}

// Delete implements Store.
func (m *Memory) Delete(ctx context.Context, pk, rk string, ifMatch ETag) error {
	if err := m.checkKeys(ctx, "delete", pk, rk); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.rows[memKey(pk, rk)]
	if !ok {
		return nil
	}
	if ifMatch != "" && ifMatch != "*" && cur.etag != ifMatch {
		return fmt.Errorf("delete %s: %w (ETag changed)", m.where(pk, rk), ErrConflict)
	}
	delete(m.rows, memKey(pk, rk))
	return nil
}

// ListAll implements Store, like List over every partition.
func (m *Memory) ListAll(ctx context.Context) iter.Seq2[Entity, error] {
	return func(yield func(Entity, error) bool) {
		m.yieldKeys(ctx, m.keys(func(string) bool { return true }), yield)
	}
}

// List implements Store. It yields from a snapshot of the partition's keys
// taken when the loop starts, reading each entity as it goes (like pages,
// a concurrent write may or may not be seen).
func (m *Memory) List(ctx context.Context, pk, prefix string) iter.Seq2[Entity, error] {
	return func(yield func(Entity, error) bool) {
		if err := CheckKey(pk); err != nil {
			yield(Entity{}, fmt.Errorf("list %s: partition %w", m.table, err))
			return
		}
		m.yieldKeys(ctx, m.keys(func(k string) bool {
			p, r, _ := strings.Cut(k, "\x00")
			return p == pk && strings.HasPrefix(r, prefix)
		}), yield)
	}
}

// keys returns the sorted row keys that match.
func (m *Memory) keys(match func(key string) bool) []string {
	m.mu.Lock()
	var keys []string
	for k := range m.rows {
		if match(k) {
			keys = append(keys, k)
		}
	}
	m.mu.Unlock()
	slices.Sort(keys)
	return keys
}

// yieldKeys reads and yields the rows of keys in order, skipping those
// deleted since the keys were taken, until yield or a read says stop.
func (m *Memory) yieldKeys(ctx context.Context, keys []string, yield func(Entity, error) bool) {
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			yield(Entity{}, err)
			return
		}
		m.mu.Lock()
		r, ok := m.rows[k]
		m.mu.Unlock()
		if !ok {
			continue // deleted meanwhile
		}
		e, err := m.read(r)
		if !yield(e, err) || err != nil {
			return
		}
	}
}

func (m *Memory) encode(ctx context.Context, e Entity) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	raw, err := encode(e)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.table, err)
	}
	return raw, nil
}

func (m *Memory) checkKeys(ctx context.Context, op, pk, rk string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := CheckKey(pk); err != nil {
		return fmt.Errorf("%s %s: partition %w", op, m.table, err)
	}
	if err := CheckKey(rk); err != nil {
		return fmt.Errorf("%s %s: row %w", op, m.table, err)
	}
	return nil
}
