package restore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
)

// tableMeta is what the engine needs of a table of the target environment.
type tableMeta struct {
	Name, Set, PrimaryID string
	IsIntersect          bool
	Attrs                map[string]dataverse.AttributeDefinition
	// Navs maps lookup attribute -> target table -> single-valued navigation
	// property (ManyToOneRelationships), e.g. parentcustomerid -> account ->
	// parentcustomerid_account.
	Navs map[string]map[string]string
	// Files lists file and image columns (image: true).
	Files map[string]bool
}

type n2nMeta struct {
	Schema, Intersect        string
	Entity1, Entity2         string
	Entity1Attr, Entity2Attr string
	Entity1Nav, Entity2Nav   string
}

// metadata caches the target environment's metadata for one invocation.
type metadata struct {
	c      *dataverse.Client
	reads  *planReads
	mu     sync.Mutex
	defs   map[string]dataverse.EntityDefinition
	bySet  map[string]string
	tables map[string]*tableMeta
	n2n    map[string]*n2nMeta // by intersect entity
}

func newMetadata(ctx context.Context, c *dataverse.Client, reads *planReads) (*metadata, error) {
	var defs []dataverse.EntityDefinition
	err := reads.retry(ctx, func() (err error) { defs, _, err = c.EntityDefinitions(ctx); return err })
	if err != nil {
		return nil, fmt.Errorf("target metadata: %w", err)
	}
	m := &metadata{c: c, reads: reads, defs: map[string]dataverse.EntityDefinition{}, bySet: map[string]string{}, tables: map[string]*tableMeta{}}
	for _, d := range defs {
		m.defs[d.LogicalName] = d
		m.bySet[d.EntitySetName] = d.LogicalName
	}
	return m, nil
}

func (m *metadata) has(table string) bool { _, ok := m.defs[table]; return ok }

func (m *metadata) set(table string) string { return m.defs[table].EntitySetName }

// table loads a table's attributes and relationships (once).
func (m *metadata) table(ctx context.Context, name string) (*tableMeta, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t := m.tables[name]; t != nil {
		return t, nil
	}
	d, ok := m.defs[name]
	if !ok {
		return nil, fmt.Errorf("the target environment has no table %s", name)
	}
	t := &tableMeta{Name: name, Set: d.EntitySetName, PrimaryID: d.PrimaryIDAttribute, IsIntersect: d.IsIntersect,
		Attrs: map[string]dataverse.AttributeDefinition{}, Navs: map[string]map[string]string{}, Files: map[string]bool{}}
	var attrs []dataverse.AttributeDefinition
	err := m.reads.retry(ctx, func() (err error) { attrs, _, err = m.c.Attributes(ctx, name); return err })
	if err != nil {
		return nil, fmt.Errorf("attributes of %s: %w", name, err)
	}
	for _, a := range attrs {
		t.Attrs[a.LogicalName] = a
		if a.IsFile() || a.IsImage() || a.AttributeType == "File" || a.AttributeType == "Image" {
			t.Files[a.LogicalName] = a.IsImage() || a.AttributeType == "Image"
		}
	}
	if !d.IsIntersect {
		var raw json.RawMessage
		err := m.reads.retry(ctx, func() (err error) { raw, err = m.c.MetadataValue(ctx, name, "ManyToOneRelationships"); return err })
		if err != nil {
			return nil, fmt.Errorf("relationships of %s: %w", name, err)
		}
		var rels []struct {
			ReferencingAttribute                    string
			ReferencedEntity                        string
			ReferencingEntityNavigationPropertyName string
		}
		if err := json.Unmarshal(raw, &rels); err != nil {
			return nil, fmt.Errorf("relationships of %s: %w", name, err)
		}
		for _, r := range rels {
			if t.Navs[r.ReferencingAttribute] == nil {
				t.Navs[r.ReferencingAttribute] = map[string]string{}
			}
			t.Navs[r.ReferencingAttribute][r.ReferencedEntity] = r.ReferencingEntityNavigationPropertyName
		}
	}
	m.tables[name] = t
	return t, nil
}

// relationships loads the N:N relationships of the given entities (once).
func (m *metadata) relationships(ctx context.Context, entities []string) (map[string]*n2nMeta, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n2n != nil {
		return m.n2n, nil
	}
	out := map[string]*n2nMeta{}
	for _, e := range entities {
		if _, ok := m.defs[e]; !ok {
			continue
		}
		var raw json.RawMessage
		err := m.reads.retry(ctx, func() (err error) { raw, err = m.c.MetadataValue(ctx, e, "ManyToManyRelationships"); return err })
		if err != nil {
			return nil, fmt.Errorf("N:N relationships of %s: %w", e, err)
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
			return nil, err
		}
		for _, r := range rels {
			out[r.IntersectEntityName] = &n2nMeta{Schema: r.SchemaName, Intersect: r.IntersectEntityName,
				Entity1: r.Entity1LogicalName, Entity2: r.Entity2LogicalName,
				Entity1Attr: r.Entity1IntersectAttribute, Entity2Attr: r.Entity2IntersectAttribute,
				Entity1Nav: r.Entity1NavigationPropertyName, Entity2Nav: r.Entity2NavigationPropertyName}
		}
	}
	m.n2n = out
	return out, nil
}

// nav returns the navigation property of lookup attr pointing at target.
func (t *tableMeta) nav(attr, target string, annotated string) string {
	if n := t.Navs[attr][target]; n != "" {
		return n
	}
	if attr == "ownerid" {
		return "ownerid"
	}
	if annotated != "" {
		return annotated
	}
	if len(t.Navs[attr]) == 0 {
		return ""
	}
	// A single-target lookup's navigation property is the attribute name.
	if a, ok := t.Attrs[attr]; ok && len(a.Targets) <= 1 {
		return attr
	}
	return ""
}

// writable reports whether column c may be sent on create or update.
func (t *tableMeta) writable(c string, create bool) bool {
	a, ok := t.Attrs[c]
	if !ok {
		return false
	}
	if a.AttributeOf != nil && *a.AttributeOf != "" {
		return false
	}
	if create {
		return a.IsValidForCreate
	}
	return a.IsValidForUpdate
}

func lower(s string) string { return strings.ToLower(strings.Trim(s, "{}")) }
