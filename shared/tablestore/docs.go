package tablestore

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
)

// Docs is a typed view of a Store: documents of type T, encoded with
// encoding/json. The stores of the domain packages are built of it.
type Docs[T any] struct {
	Store Store
	// Columns, when set, gives the plain columns written beside a document
	// (see Entity.Columns).
	Columns func(*T) map[string]string
	// Retry tunes Modify (zero = defaults).
	Retry RetryOptions
}

// Item is one document of a listing, with its key and ETag.
type Item[T any] struct {
	PartitionKey, RowKey string
	Value                *T
	ETag                 ETag
}

// Decode reads an entity's document into a new T.
func Decode[T any](e Entity) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(e.Doc, v); err != nil {
		return nil, fmt.Errorf("decode %s/%s: %w", e.PartitionKey, e.RowKey, err)
	}
	return v, nil
}

func (d Docs[T]) entity(pk, rk string, v *T) (Entity, error) {
	doc, err := json.Marshal(v)
	if err != nil {
		return Entity{}, fmt.Errorf("encode %s/%s: %w", pk, rk, err)
	}
	e := Entity{PartitionKey: pk, RowKey: rk, Doc: doc}
	if d.Columns != nil {
		e.Columns = d.Columns(v)
	}
	return e, nil
}

// Get reads a document (ErrNotFound when missing).
func (d Docs[T]) Get(ctx context.Context, pk, rk string) (*T, ETag, error) {
	e, err := d.Store.Get(ctx, pk, rk)
	if err != nil {
		return nil, "", err
	}
	v, err := Decode[T](e)
	return v, e.ETag, err
}

// Insert writes a new document (ErrConflict when the key exists).
func (d Docs[T]) Insert(ctx context.Context, pk, rk string, v *T) (ETag, error) {
	e, err := d.entity(pk, rk, v)
	if err != nil {
		return "", err
	}
	return d.Store.Insert(ctx, e)
}

// Replace overwrites a document if its ETag is still ifMatch.
func (d Docs[T]) Replace(ctx context.Context, pk, rk string, v *T, ifMatch ETag) (ETag, error) {
	e, err := d.entity(pk, rk, v)
	if err != nil {
		return "", err
	}
	return d.Store.Replace(ctx, e, ifMatch)
}

// Upsert writes a document whether or not it exists.
func (d Docs[T]) Upsert(ctx context.Context, pk, rk string, v *T) (ETag, error) {
	e, err := d.entity(pk, rk, v)
	if err != nil {
		return "", err
	}
	return d.Store.Upsert(ctx, e)
}

// Delete removes a document if its ETag is still ifMatch ("" = any).
func (d Docs[T]) Delete(ctx context.Context, pk, rk string, ifMatch ETag) error {
	return d.Store.Delete(ctx, pk, rk, ifMatch)
}

// Modify is the package's Modify on a decoded document: fn changes *T and
// says whether to write it. It returns the document as written (or as read
// when fn declined or failed) and its ETag.
func (d Docs[T]) Modify(ctx context.Context, pk, rk string, fn func(*T) (bool, error)) (*T, ETag, error) {
	var v *T
	var fnErr error
	e, err := Modify(ctx, d.Store, pk, rk, func(e *Entity) (bool, error) {
		var err error
		if v, err = Decode[T](*e); err != nil {
			return false, err
		}
		var write bool
		if write, fnErr = fn(v); fnErr != nil || !write {
			return false, fnErr
		}
		ne, err := d.entity(pk, rk, v)
		if err != nil {
			return false, err
		}
		*e = ne
		return true, nil
	}, &d.Retry)
	switch {
	case err != nil && err == fnErr: //nolint:errorlint // identity: fn's own error
		return v, e.ETag, err
	case err != nil:
		return nil, "", err
	}
	return v, e.ETag, nil
}

// List streams the decoded documents of a partition whose row keys start
// with prefix (see Store.List). A document that does not decode ends the
// listing with its error: nothing is skipped silently.
func (d Docs[T]) List(ctx context.Context, pk, prefix string) iter.Seq2[Item[T], error] {
	return func(yield func(Item[T], error) bool) {
		for e, err := range d.Store.List(ctx, pk, prefix) {
			if err != nil {
				yield(Item[T]{}, err)
				return
			}
			v, err := Decode[T](e)
			if !yield(Item[T]{PartitionKey: e.PartitionKey, RowKey: e.RowKey, Value: v, ETag: e.ETag}, err) || err != nil {
				return
			}
		}
	}
}
