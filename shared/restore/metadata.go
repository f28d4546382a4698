package restore

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// metadata reads and caches the target environment's metadata for one
// invocation: the plan.Schema part of the Dataverse target.
type metadata struct {
	c      *dataverse.Client
	reads  *planReads
	mu     sync.Mutex
	defs   map[string]plan.TableInfo
	tables map[string]*plan.TableSchema
	n2n    map[string][]plan.ManyToMany // by table, once read
}

func newMetadata(ctx context.Context, c *dataverse.Client, reads *planReads) (*metadata, error) {
	var defs []dataverse.EntityDefinition
	err := reads.retry(ctx, func() (err error) { defs, _, err = c.EntityDefinitions(ctx); return err })
	if err != nil {
		return nil, fmt.Errorf("target metadata: %w", err)
	}
	m := &metadata{c: c, reads: reads, defs: map[string]plan.TableInfo{}, tables: map[string]*plan.TableSchema{}, n2n: map[string][]plan.ManyToMany{}}
	for _, d := range defs {
		m.defs[d.LogicalName] = plan.TableInfo{Name: d.LogicalName, EntitySet: d.EntitySetName, PrimaryID: d.PrimaryIDAttribute, IsIntersect: d.IsIntersect}
	}
	return m, nil
}

// Tables lists the target's tables.
func (m *metadata) Tables(context.Context) (map[string]plan.TableInfo, error) {
	out := make(map[string]plan.TableInfo, len(m.defs))
	for k, v := range m.defs {
		out[k] = v
	}
	return out, nil
}

func (m *metadata) has(table string) bool { _, ok := m.defs[table]; return ok }

// Table loads a table's columns and relationships (once, in one request).
func (m *metadata) Table(ctx context.Context, name string) (*plan.TableSchema, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t := m.tables[name]; t != nil {
		return t, nil
	}
	d, ok := m.defs[name]
	if !ok {
		return nil, fmt.Errorf("the target environment has no table %s", name)
	}
	t := &plan.TableSchema{TableInfo: d, Columns: map[string]plan.Column{}, Navigations: map[string]map[string]string{}}
	var md dataverse.TableMetadata
	err := m.reads.retry(ctx, func() (err error) { md, err = m.c.TableMetadata(ctx, name); return err })
	if err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", name, err)
	}
	for _, a := range md.Attributes {
		col := plan.Column{Name: a.LogicalName, Create: a.IsValidForCreate, Update: a.IsValidForUpdate,
			Derived: a.AttributeOf != nil && *a.AttributeOf != "", Targets: a.Targets, Type: a.AttributeType,
			File: a.IsFile() || a.IsImage() || a.AttributeType == "File" || a.AttributeType == "Image"}
		if a.AttributeOf != nil {
			col.Of = *a.AttributeOf
		}
		if a.SourceType != nil {
			col.SourceType = *a.SourceType
		}
		t.Columns[a.LogicalName] = col
	}
	for _, r := range md.ManyToOne {
		if t.Navigations[r.ReferencingAttribute] == nil {
			t.Navigations[r.ReferencingAttribute] = map[string]string{}
		}
		t.Navigations[r.ReferencingAttribute][r.ReferencedEntity] = r.ReferencingEntityNavigationPropertyName
		t.ManyToOne = append(t.ManyToOne, relationship(r))
	}
	for _, r := range md.OneToMany {
		t.OneToMany = append(t.OneToMany, relationship(r))
	}
	m.tables[name] = t
	return t, nil
}

func relationship(r dataverse.OneToManyRelationship) plan.Relationship {
	return plan.Relationship{Name: r.SchemaName, Referenced: r.ReferencedEntity, Referencing: r.ReferencingEntity, Attribute: r.ReferencingAttribute,
		Navigation: r.ReferencingEntityNavigationPropertyName, Collection: r.ReferencedEntityNavigationPropertyName, Delete: r.CascadeConfiguration.Delete}
}

// ManyToMany returns the N:N relationships of the given tables, reading
// each table's once.
func (m *metadata) ManyToMany(ctx context.Context, tables []string) (map[string]plan.ManyToMany, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]plan.ManyToMany{}
	for _, e := range tables {
		if _, ok := m.defs[e]; !ok {
			continue
		}
		rels, ok := m.n2n[e]
		if !ok {
			var err error
			if rels, err = m.readManyToMany(ctx, e); err != nil {
				return nil, err
			}
			m.n2n[e] = rels
		}
		for _, r := range rels {
			out[r.Intersect] = r
		}
	}
	return out, nil
}

func (m *metadata) readManyToMany(ctx context.Context, table string) ([]plan.ManyToMany, error) {
	var raw json.RawMessage
	err := m.reads.retry(ctx, func() (err error) { raw, err = m.c.MetadataValue(ctx, table, "ManyToManyRelationships"); return err })
	if err != nil {
		return nil, fmt.Errorf("N:N relationships of %s: %w", table, err)
	}
	var rels []struct {
		SchemaName                    string
		IntersectEntityName           string
		Entity1LogicalName            string
		Entity2LogicalName            string
		Entity1IntersectAttribute     string
		Entity2IntersectAttribute     string
		Entity1NavigationPropertyName string
		Entity2NavigationPropertyName string
	}
	if err := json.Unmarshal(raw, &rels); err != nil {
		return nil, fmt.Errorf("N:N relationships of %s: %w", table, err)
	}
	out := make([]plan.ManyToMany, 0, len(rels))
	for _, r := range rels {
		out = append(out, plan.ManyToMany{Name: r.SchemaName, Intersect: r.IntersectEntityName,
			Entity1: r.Entity1LogicalName, Entity2: r.Entity2LogicalName,
			Entity1Column: r.Entity1IntersectAttribute, Entity2Column: r.Entity2IntersectAttribute,
			Entity1Navigation: r.Entity1NavigationPropertyName, Entity2Navigation: r.Entity2NavigationPropertyName})
	}
	return out, nil
}
