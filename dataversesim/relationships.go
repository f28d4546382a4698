package dataversesim

// Cascade is a one-to-many relationship's CascadeConfiguration: one of
// "Cascade", "Active", "UserOwned", "NoCascade", "RemoveLink", "Restrict"
// per action, as the table reference pages list them (powerapps-docs,
// developer/data-platform/reference/entities/<table>.md, "One-to-Many
// Relationships" / "Many-to-One Relationships", row CascadeConfiguration).
type Cascade struct {
	Assign, Delete, Merge, Reparent, Share, Unshare string
}

// Rel1N is one one-to-many relationship: ReferencedEntity (the "one" side)
// is referenced by ReferencingEntity.ReferencingAttribute (a lookup). It is
// served by EntityDefinitions(...)/OneToManyRelationships and
// ManyToOneRelationships and drives what a delete of the referenced record
// does to the referencing rows (Cascade.Delete).
type Rel1N struct {
	SchemaName                              string
	ReferencedEntity, ReferencedAttribute   string
	ReferencingEntity, ReferencingAttribute string
	// ReferencedNav is ReferencedEntityNavigationPropertyName (the collection
	// on the referenced table); ReferencingNav is
	// ReferencingEntityNavigationPropertyName (the single-valued property
	// used by @odata.bind).
	ReferencedNav, ReferencingNav string
	Cascade                       Cascade
}

// relFor returns the one-to-many relationship behind a lookup column and one
// of its targets, or nil.
func (s *schema) relFor(referencing, attr, target string) *Rel1N {
	for _, r := range s.rels {
		if r.ReferencingEntity == referencing && r.ReferencingAttribute == attr && r.ReferencedEntity == target {
			return r
		}
	}
	return nil
}
