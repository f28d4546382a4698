package dataversesim

import "strings"

// The properties of each metadata type, so $select and $filter can be
// checked the way Dataverse checks them: a property the requested type lacks
// answers 400 "Could not find a property named 'x' on type ..." (reference
// 11: Targets exists only on the LookupAttributeMetadata cast). Names are the
// Web API's (Microsoft.Dynamics.CRM.EntityMetadata, AttributeMetadata and its
// derived types, RelationshipMetadataBase, EntityKeyMetadata,
// OptionSetMetadataBase), as the PowerApps-Samples WebAPIService metadata
// types list them (dataverse/webapi/C#-NETx/WebAPIService/Metadata/Types).
// Properties the simulator does not model are still valid names; they read
// as null.

func propSet(lists ...string) map[string]bool {
	m := map[string]bool{}
	for _, l := range lists {
		for _, p := range strings.Fields(l) {
			m[p] = true
		}
	}
	return m
}

const metadataBaseProps = `MetadataId HasChanged`

var entityMetadataProps = propSet(metadataBaseProps, `ActivityTypeMask AutoCreateAccessTeams AutoRouteToOwnerQueue
	CanBeInCustomEntityAssociation CanBeInManyToMany CanBePrimaryEntityInRelationship CanBeRelatedEntityInRelationship
	CanChangeHierarchicalRelationship CanChangeTrackingBeEnabled CanCreateAttributes CanCreateCharts CanCreateForms
	CanCreateViews CanEnableSyncToExternalSearchIndex CanModifyAdditionalSettings CanTriggerWorkflow ChangeTrackingEnabled
	CollectionSchemaName CreatedOn DataProviderId DataSourceId DaysSinceRecordLastModified Description
	DisplayCollectionName DisplayName EnforceStateTransitions EntityColor EntityHelpUrl EntityHelpUrlEnabled
	EntitySetName ExternalCollectionName ExternalName HasActivities HasEmailAddresses HasFeedback HasNotes
	IconLargeName IconMediumName IconSmallName IconVectorName IntroducedVersion IsActivity IsActivityParty
	IsAIRUpdated IsArchivalEnabled IsAuditEnabled IsAvailableOffline IsBPFEntity IsBusinessProcessEnabled
	IsChildEntity IsConnectionsEnabled IsCustomEntity IsCustomizable IsDocumentManagementEnabled
	IsDocumentRecommendationsEnabled IsDuplicateDetectionEnabled IsEnabledForCharts IsEnabledForExternalChannels
	IsEnabledForTrace IsImportable IsInteractionCentricEnabled IsIntersect IsKnowledgeManagementEnabled
	IsLogicalEntity IsMailMergeEnabled IsManaged IsMappable IsMSTeamsIntegrationEnabled IsOfflineInMobileClient
	IsOneNoteIntegrationEnabled IsOptimisticConcurrencyEnabled IsPrivate IsQuickCreateEnabled IsReadingPaneEnabled
	IsReadOnlyInMobileClient IsRenameable IsRetentionEnabled IsRetrieveAuditEnabled IsRetrieveMultipleAuditEnabled
	IsSLAEnabled IsSolutionAware IsStateModelAware IsValidForAdvancedFind IsValidForQueue IsVisibleInMobile
	IsVisibleInMobileClient LogicalCollectionName LogicalName MobileOfflineFilters ModifiedOn ObjectTypeCode
	OwnershipType PrimaryIdAttribute PrimaryImageAttribute PrimaryNameAttribute Privileges
	RecurrenceBaseEntityLogicalName ReportViewName SchemaName SettingOf Settings SyncToExternalSearchIndex
	TableType UsesBusinessDataLabelTable Attributes Keys ManyToManyRelationships ManyToOneRelationships
	OneToManyRelationships`)

// entityNavProps are EntityMetadata's collection-valued navigation
// properties: expandable, not selectable.
var entityNavProps = propSet(`Attributes Keys ManyToManyRelationships ManyToOneRelationships OneToManyRelationships`)

const attributeMetadataProps = metadataBaseProps + ` AttributeOf AttributeType AttributeTypeName AutoNumberFormat
	CanBeSecuredForCreate CanBeSecuredForRead CanBeSecuredForUpdate CanModifyAdditionalSettings ColumnNumber
	CreatedOn DeprecatedVersion Description DisplayName EntityLogicalName ExternalName InheritsFrom
	IntroducedVersion IsAuditEnabled IsCustomAttribute IsCustomizable IsDataSourceSecret IsFilterable
	IsGlobalFilterEnabled IsLogical IsManaged IsPrimaryId IsPrimaryName IsRenameable IsRequiredForForm
	IsRetrievable IsSearchable IsSecured IsSortableEnabled IsValidForAdvancedFind IsValidForCreate IsValidForForm
	IsValidForGrid IsValidForRead IsValidForUpdate IsValidODataAttribute LinkedAttributeId LogicalName ModifiedOn
	RequiredLevel SchemaName Settings SourceType`

// enumAttributeProps are EnumAttributeMetadata's (picklists, state, status,
// multi-select, entity name); OptionSet and GlobalOptionSet are
// navigation properties (expandable on a cast, query-metadata-web-api.md).
const enumAttributeProps = `DefaultFormValue OptionSet GlobalOptionSet ParentPicklistLogicalName
	ChildPicklistLogicalNames FormulaDefinition SourceTypeMask`

// attributeProps maps each attribute metadata type to its properties.
var attributeProps = map[string]map[string]bool{
	"AttributeMetadata":                    propSet(attributeMetadataProps),
	"StringAttributeMetadata":              propSet(attributeMetadataProps, `DatabaseLength Format FormatName FormulaDefinition ImeMode IsLocalizable MaxLength SourceTypeMask YomiOf`),
	"MemoAttributeMetadata":                propSet(attributeMetadataProps, `DatabaseLength Format FormatName ImeMode IsLocalizable MaxLength`),
	"IntegerAttributeMetadata":             propSet(attributeMetadataProps, `Format FormulaDefinition MaxValue MinValue SourceTypeMask`),
	"BigIntAttributeMetadata":              propSet(attributeMetadataProps, `MaxValue MinValue`),
	"DecimalAttributeMetadata":             propSet(attributeMetadataProps, `FormulaDefinition ImeMode MaxValue MinValue Precision SourceTypeMask`),
	"DoubleAttributeMetadata":              propSet(attributeMetadataProps, `ImeMode MaxValue MinValue Precision`),
	"MoneyAttributeMetadata":               propSet(attributeMetadataProps, `CalculationOf FormulaDefinition ImeMode IsBaseCurrency MaxValue MinValue Precision PrecisionSource SourceTypeMask`),
	"BooleanAttributeMetadata":             propSet(attributeMetadataProps, `DefaultValue FormulaDefinition OptionSet GlobalOptionSet SourceTypeMask`),
	"DateTimeAttributeMetadata":            propSet(attributeMetadataProps, `CanChangeDateTimeBehavior DateTimeBehavior Format FormulaDefinition ImeMode MaxSupportedValue MinSupportedValue SourceTypeMask`),
	"PicklistAttributeMetadata":            propSet(attributeMetadataProps, enumAttributeProps),
	"MultiSelectPicklistAttributeMetadata": propSet(attributeMetadataProps, enumAttributeProps),
	"StateAttributeMetadata":               propSet(attributeMetadataProps, enumAttributeProps),
	"StatusAttributeMetadata":              propSet(attributeMetadataProps, enumAttributeProps),
	"EntityNameAttributeMetadata":          propSet(attributeMetadataProps, enumAttributeProps, `IsEntityReferenceStored`),
	"LookupAttributeMetadata":              propSet(attributeMetadataProps, `Format Targets`),
	"UniqueIdentifierAttributeMetadata":    propSet(attributeMetadataProps),
	"FileAttributeMetadata":                propSet(attributeMetadataProps, `MaxSizeInKB`),
	"ImageAttributeMetadata":               propSet(attributeMetadataProps, `CanStoreFullImage IsPrimaryImage MaxHeight MaxSizeInKB MaxWidth`),
}

// attributeNavProps are navigation properties of attribute types.
var attributeNavProps = propSet(`OptionSet GlobalOptionSet`)

const relationshipBaseProps = metadataBaseProps + ` IntroducedVersion IsCustomizable IsCustomRelationship IsManaged
	IsValidForAdvancedFind RelationshipType SchemaName SecurityTypes`

// relationshipProps maps each relationship metadata type to its properties.
var relationshipProps = map[string]map[string]bool{
	"RelationshipMetadataBase": propSet(relationshipBaseProps),
	"OneToManyRelationshipMetadata": propSet(relationshipBaseProps, `AssociatedMenuConfiguration CascadeConfiguration
		IsHierarchical ReferencedAttribute ReferencedEntity ReferencedEntityNavigationPropertyName ReferencingAttribute
		ReferencingEntity ReferencingEntityNavigationPropertyName RelationshipBehavior`),
	"ManyToManyRelationshipMetadata": propSet(relationshipBaseProps, `Entity1AssociatedMenuConfiguration
		Entity1IntersectAttribute Entity1LogicalName Entity1NavigationPropertyName Entity2AssociatedMenuConfiguration
		Entity2IntersectAttribute Entity2LogicalName Entity2NavigationPropertyName IntersectEntityName`),
}

var entityKeyProps = propSet(metadataBaseProps, `AsyncJob DisplayName EntityKeyIndexStatus EntityLogicalName
	IntroducedVersion IsCustomizable IsExportKey IsManaged IsSecondaryKey IsSynchronous KeyAttributes LogicalName
	SchemaName`)

const optionSetBaseProps = metadataBaseProps + ` Description DisplayName ExternalTypeName IntroducedVersion
	IsCustomizable IsCustomOptionSet IsGlobal IsManaged Name OptionSetType ParentOptionSetName`

// optionSetProps maps each option set metadata type to its properties
// (OptionSetMetadataBase has no Options: query-schema-definitions.md).
var optionSetProps = map[string]map[string]bool{
	"OptionSetMetadataBase":    propSet(optionSetBaseProps),
	"OptionSetMetadata":        propSet(optionSetBaseProps, `Options`),
	"BooleanOptionSetMetadata": propSet(optionSetBaseProps, `FalseOption TrueOption`),
}
