// Storage account for backup data, run state (tables) and the Functions host.
// Shared keys are off: every caller authenticates with Entra ID.
param name string
param location string = resourceGroup().location
param tags object = {}

@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS', 'Standard_RAGRS', 'Standard_RAGZRS'])
param skuName string = 'Standard_LRS'

@description('Blob container holding backup data.')
param backupContainerName string

@description('Blob container holding file contents (content-addressed, shared by runs).')
param fileContainerName string

@description('Blob containers for working data (restore plans).')
param workContainerNames array = []

@description('Blob container holding the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Tables created up front for run and connection state (the app may create more).')
param tableNames array = []

@description('Version-level immutability (WORM) on the backup container. Decide at first deployment: an existing container cannot be switched by a template.')
param enableImmutability bool = false

@description('Days each blob version in the backup container stays immutable (default policy, unlocked).')
@minValue(1)
param immutabilityPeriodDays int = 30

@description('Lifecycle rules that move old backup blobs to the cool, then cold tier.')
param enableLifecycleTiering bool = false

@minValue(1)
param coolAfterDays int = 30

@minValue(1)
param coldAfterDays int = 90

@description('Days after which previous blob versions are deleted (only when versioning is on).')
@minValue(1)
param deletePreviousVersionsAfterDays int = 90

@allowed(['Enabled', 'Disabled'])
param publicNetworkAccess string = 'Enabled'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      defaultAction: publicNetworkAccess == 'Disabled' ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    // Version-level immutability needs versioning.
    isVersioningEnabled: enableImmutability
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource backupContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: backupContainerName
  properties: {
    publicAccess: 'None'
    immutableStorageWithVersioning: {
      enabled: enableImmutability
    }
  }
}

// Default version-level policy for the backup container: every new blob version
// is protected for immutabilityPeriodDays. Left unlocked so an admin can still
// shorten it; lock it in the portal for compliance-grade WORM.
resource backupImmutability 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (enableImmutability) {
  parent: backupContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: immutabilityPeriodDays
    allowProtectedAppendWrites: false
  }
}

// File contents are backup data too: same WORM setting as the backup container.
resource fileContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: fileContainerName
  properties: {
    publicAccess: 'None'
    immutableStorageWithVersioning: {
      enabled: enableImmutability
    }
  }
}

resource fileImmutability 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (enableImmutability) {
  parent: fileContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: immutabilityPeriodDays
    allowProtectedAppendWrites: false
  }
}

resource workContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for c in workContainerNames: {
  parent: blobService
  name: c
  properties: {
    publicAccess: 'None'
  }
}]

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for table in tableNames: {
  parent: tableService
  name: table
}]

var tieringRule = {
  enabled: true
  name: 'tier-old-backups'
  type: 'Lifecycle'
  definition: {
    filters: {
      blobTypes: ['blockBlob']
      prefixMatch: ['${backupContainerName}/', '${fileContainerName}/']
    }
    actions: {
      baseBlob: {
        tierToCool: {
          daysAfterModificationGreaterThan: coolAfterDays
        }
        tierToCold: {
          daysAfterModificationGreaterThan: coldAfterDays
        }
      }
    }
  }
}

var versionCleanupRule = {
  enabled: true
  name: 'delete-old-versions'
  type: 'Lifecycle'
  definition: {
    filters: {
      blobTypes: ['blockBlob']
      prefixMatch: ['${backupContainerName}/', '${fileContainerName}/']
    }
    actions: {
      version: {
        delete: {
          daysAfterCreationGreaterThan: deletePreviousVersionsAfterDays
        }
      }
    }
  }
}

var lifecycleRules = concat(enableLifecycleTiering ? [tieringRule] : [], enableImmutability ? [versionCleanupRule] : [])

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = if (!empty(lifecycleRules)) {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: lifecycleRules
    }
  }
}

output name string = storage.name
output resourceId string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
output backupContainerName string = backupContainer.name
output deploymentContainerName string = deploymentContainer.name
