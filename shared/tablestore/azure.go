package tablestore

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/cloudbackup-d365/cloudbackup/shared/azerr"
)

// Azure is a Store on one table of Azure Table Storage (or Azurite).
type Azure struct {
	table string
	c     *aztables.Client
}

var _ Store = (*Azure)(nil)

// NewAzure returns the Store of table on svc, creating the table when it is
// missing.
func NewAzure(ctx context.Context, svc *aztables.ServiceClient, table string) (*Azure, error) {
	if _, err := svc.CreateTable(ctx, table, nil); err != nil && !azerr.HasCode(err, string(aztables.TableAlreadyExists)) {
		return nil, fmt.Errorf("tablestore: create table %s: %s", table, azerr.Short(err))
	}
	return &Azure{table: table, c: svc.NewClient(table)}, nil
}

// translate is the one place Table Storage errors become the package's:
// the sentinels for what callers decide on, otherwise the SDK error (kept in
// the chain) behind a one-line message without the SDK's request dump.
func (a *Azure) translate(op, pk, rk string, err error) error {
	if err == nil {
		return nil
	}
	where := a.table
	if pk != "" {
		where += " " + pk + "/" + rk
	}
	code := aztables.TableErrorCode(azerr.Code(err))
	switch {
	case code == aztables.TableNotFound:
		return azerr.Wrap(op+" "+where+": the table does not exist (NewAzure creates it)", err)
	case code == aztables.EntityTooLarge || code == aztables.PropertyValueTooLarge || code == aztables.TooManyProperties:
		return fmt.Errorf("%s %s: %w (%s)", op, where, ErrTooLarge, code)
	case code == aztables.EntityAlreadyExists || code == aztables.UpdateConditionNotSatisfied ||
		azerr.Status(err) == http.StatusConflict || azerr.Status(err) == http.StatusPreconditionFailed:
		return fmt.Errorf("%s %s: %w (%s)", op, where, ErrConflict, code)
	case code == aztables.ResourceNotFound || code == aztables.EntityNotFound || azerr.Status(err) == http.StatusNotFound:
		return fmt.Errorf("%s %s: %w", op, where, ErrNotFound)
	}
	return azerr.Wrap(op+" "+where, err)
}

func (a *Azure) encode(e Entity) ([]byte, error) {
	raw, err := encode(e)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.table, err)
	}
	return raw, nil
}

// Get implements Store.
func (a *Azure) Get(ctx context.Context, pk, rk string) (Entity, error) {
	if err := CheckKey(pk); err != nil {
		return Entity{}, fmt.Errorf("get %s: partition %w", a.table, err)
	}
	if err := CheckKey(rk); err != nil {
		return Entity{}, fmt.Errorf("get %s: row %w", a.table, err)
	}
	resp, err := a.c.GetEntity(ctx, pk, rk, nil)
	if err != nil {
		return Entity{}, a.translate("get", pk, rk, err)
	}
	e, err := decode(resp.Value)
	if err != nil {
		return Entity{}, fmt.Errorf("get %s: %w", a.table, err)
	}
	e.ETag = ETag(resp.ETag)
	return e, nil
}

// Insert implements Store.
func (a *Azure) Insert(ctx context.Context, e Entity) (ETag, error) {
	raw, err := a.encode(e)
	if err != nil {
		return "", err
	}
	resp, err := a.c.AddEntity(ctx, raw, nil)
	if err != nil {
		return "", a.translate("insert", e.PartitionKey, e.RowKey, err)
	}
	return ETag(resp.ETag), nil
}

// Replace implements Store.
func (a *Azure) Replace(ctx context.Context, e Entity, ifMatch ETag) (ETag, error) {
	if ifMatch == "" {
		return "", fmt.Errorf("replace %s %s/%s: %w: no ETag to match (use Upsert to write unconditionally)", a.table, e.PartitionKey, e.RowKey, ErrInvalid)
	}
	raw, err := a.encode(e)
	if err != nil {
		return "", err
	}
	et := azcore.ETag(ifMatch)
	resp, err := a.c.UpdateEntity(ctx, raw, &aztables.UpdateEntityOptions{IfMatch: &et, UpdateMode: aztables.UpdateModeReplace})
	if err != nil {
		return "", a.translate("replace", e.PartitionKey, e.RowKey, err)
	}
	return ETag(resp.ETag), nil
}

// Upsert implements Store.
func (a *Azure) Upsert(ctx context.Context, e Entity) (ETag, error) {
	raw, err := a.encode(e)
	if err != nil {
		return "", err
	}
	resp, err := a.c.UpsertEntity(ctx, raw, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace})
	if err != nil {
		return "", a.translate("upsert", e.PartitionKey, e.RowKey, err)
	}
	return ETag(resp.ETag), nil
}

// Limits of one entity group transaction: 100 operations, a payload under
// 4 MiB (the encoded entities are counted, with room for the multipart
// framing of each operation).
const (
	batchOps       = 100
	batchBytes     = 3 << 20
	batchOpFraming = 1 << 10
)

// UpsertBatch implements Store: one transaction per partition and per 100
// entities (or ~3 MiB). A key given twice is written once, with its last
// value, because a transaction may touch an entity only once.
func (a *Azure) UpsertBatch(ctx context.Context, es []Entity) error {
	last := make(map[string]int, len(es))
	for i, e := range es {
		last[memKey(e.PartitionKey, e.RowKey)] = i
	}
	byPartition := map[string][]aztables.TransactionAction{}
	sizes := map[string]int{}
	var order []string
	flush := func(pk string) error {
		acts := byPartition[pk]
		if len(acts) == 0 {
			return nil
		}
		byPartition[pk], sizes[pk] = nil, 0
		if _, err := a.c.SubmitTransaction(ctx, acts, nil); err != nil {
			return a.translate(fmt.Sprintf("upsert %d entities into", len(acts)), pk, "*", err)
		}
		return nil
	}
	for i, e := range es {
		if last[memKey(e.PartitionKey, e.RowKey)] != i {
			continue
		}
		raw, err := a.encode(e)
		if err != nil {
			return err
		}
		pk := e.PartitionKey
		if len(byPartition[pk]) == batchOps || sizes[pk]+len(raw)+batchOpFraming > batchBytes {
			if err := flush(pk); err != nil {
				return err
			}
		}
		if _, seen := sizes[pk]; !seen {
			order = append(order, pk)
		}
		byPartition[pk] = append(byPartition[pk], aztables.TransactionAction{ActionType: aztables.TransactionTypeInsertReplace, Entity: raw})
		sizes[pk] += len(raw) + batchOpFraming
	}
	for _, pk := range order {
		if err := flush(pk); err != nil {
			return err
		}
	}
	return nil
}

// Delete implements Store.
func (a *Azure) Delete(ctx context.Context, pk, rk string, ifMatch ETag) error {
	if err := CheckKey(pk); err != nil {
		return fmt.Errorf("delete %s: partition %w", a.table, err)
	}
	if err := CheckKey(rk); err != nil {
		return fmt.Errorf("delete %s: row %w", a.table, err)
	}
	et := azcore.ETagAny
	if ifMatch != "" {
		et = azcore.ETag(ifMatch)
	}
	_, err := a.c.DeleteEntity(ctx, pk, rk, &aztables.DeleteEntityOptions{IfMatch: &et})
	if err = a.translate("delete", pk, rk, err); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// List implements Store: one OData query on the partition and a row-key
// range, read page by page as the loop asks for more.
// ListAll implements Store: a listing without a partition filter.
func (a *Azure) ListAll(ctx context.Context) iter.Seq2[Entity, error] {
	return func(yield func(Entity, error) bool) {
		pager := a.c.NewListEntitiesPager(nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				yield(Entity{}, a.translate("list", "*", "*", err))
				return
			}
			for _, raw := range page.Entities {
				e, err := decode(raw)
				if err != nil {
					err = fmt.Errorf("list %s: %w", a.table, err)
				}
				if !yield(e, err) || err != nil {
					return
				}
			}
		}
	}
}

func (a *Azure) List(ctx context.Context, pk, prefix string) iter.Seq2[Entity, error] {
	return func(yield func(Entity, error) bool) {
		if err := CheckKey(pk); err != nil {
			yield(Entity{}, fmt.Errorf("list %s: partition %w", a.table, err))
			return
		}
		filter := "PartitionKey eq " + odataString(pk)
		if prefix != "" {
			filter += " and RowKey ge " + odataString(prefix)
			if end, ok := prefixEnd(prefix); ok {
				filter += " and RowKey lt " + odataString(end)
			}
		}
		pager := a.c.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter})
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				yield(Entity{}, a.translate("list", pk, prefix+"*", err))
				return
			}
			for _, raw := range page.Entities {
				e, err := decode(raw)
				if err != nil {
					err = fmt.Errorf("list %s: %w", a.table, err)
				}
				if !yield(e, err) || err != nil {
					return
				}
			}
		}
	}
}

// odataString quotes s as an OData string literal.
func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// prefixEnd is the smallest string greater than every string starting with
// prefix: the prefix with its last character incremented (false when no
// such string exists, then the range is open-ended).
func prefixEnd(prefix string) (string, bool) {
	rs := []rune(prefix)
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i] < utf8.MaxRune {
			next := rs[i] + 1
			if next >= 0xD800 && next <= 0xDFFF { // surrogates are not characters
				next = 0xE000
			}
			return string(append(rs[:i:i], next)), true
		}
	}
	return "", false
}
