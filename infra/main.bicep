// Cloud Backup for Dynamics 365: everything one deployment needs, in one
// resource group. Deployed by `azd up` (subscription scope).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; part of every resource name.')
param environmentName string

@minLength(1)
@description('Region for all resources (one that offers Flex Consumption).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Resource group name; default rg-<environmentName>.')
param resourceGroupName string = ''

@description('Principal id of the deploying user (AZURE_PRINCIPAL_ID); granted read access to backups and state. Empty for none.')
param principalId string = ''

@allowed(['User', 'Group', 'ServicePrincipal'])
param principalType string = 'User'

// Function App
@description('Memory per instance (MB) of the Flex Consumption app.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Upper bound on instances; Dataverse service protection limits make more rarely useful.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('NCRONTAB (six fields, UTC) for ScheduleBackups.')
param backupSchedule string = '0 0 2 * * *'

@description('NCRONTAB (six fields, UTC) for ApplyRetention.')
param retentionSchedule string = '0 30 3 * * *'

@allowed(['debug', 'info', 'warn', 'error'])
param logLevel string = 'info'

// Storage
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS', 'Standard_RAGRS', 'Standard_RAGZRS'])
param storageSkuName string = 'Standard_LRS'

@description('Version-level immutability (WORM) on the backups container. Choose at the first deployment.')
param enableImmutability bool = false

@minValue(1)
param immutabilityPeriodDays int = 30

@description('Move old backup blobs to cool, then cold storage.')
param enableLifecycleTiering bool = false

@minValue(1)
param coolAfterDays int = 30

@minValue(1)
param coldAfterDays int = 90

// Service Bus
@allowed(['Standard', 'Premium'])
@description('Standard by default; private networking forces Premium (private endpoints need it).')
param serviceBusSku string = 'Standard'

// Key Vault
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteRetentionInDays int = 90

// Authentication (App Service Authentication / Easy Auth)
@description('Require Entra ID tokens on the HTTP API.')
param enableAuth bool = false

@description('Application (client) id of the app registration holding the app roles (see infra/app/app-roles.json).')
param authClientId string = ''

// Networking
@description('Private endpoints for Storage, Service Bus and Key Vault, VNet integration for the app, public access off.')
param enablePrivateNetworking bool = false

param vnetAddressPrefix string = '10.40.0.0/16'
param appSubnetPrefix string = '10.40.0.0/24'
param privateEndpointSubnetPrefix string = '10.40.1.0/24'

// Alerts
@description('Alerts on dead-lettered messages and failed function runs.')
param enableAlerts bool = false

@description('E-mail for alert notifications; empty for none.')
param alertEmail string = ''

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}

// Names the Go code spells: queues (shared/messaging.Queues()), containers.
var serviceName = 'functions'
var serviceBusQueueNames = ['scan', 'extract', 'files', 'restore']
var backupContainerName = 'backups'
var deploymentContainerName = 'deployment'
// backupformat.ContainerFiles: file contents, content-addressed and shared by runs.
var fileContainerName = 'backup-files'
// restore.Container: restore plans and chunks (working data, not backups).
var workContainerNames = ['restore']
// connections, runstate, restore and audit tables (infra tests compare them with Go).
var stateTableNames = ['connections', 'environments', 'runs', 'tabletasks', 'restorejobs', 'restoreresults', 'audit']
// Deliveries before Service Bus dead-letters a message. The handler is told the
// same number (BACKUP_MAX_DELIVERY_COUNT) so the last delivery of a failing page
// marks its table failed, with the reason, instead of vanishing into the DLQ.
var maxDeliveryCount = 10

var effectiveServiceBusSku = enablePrivateNetworking ? 'Premium' : serviceBusSku
var publicNetworkAccess = enablePrivateNetworking ? 'Disabled' : 'Enabled'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity './core/identity/user-assigned-identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring './core/monitor/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage './core/storage/storage-account.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    skuName: storageSkuName
    backupContainerName: backupContainerName
    fileContainerName: fileContainerName
    workContainerNames: workContainerNames
    deploymentContainerName: deploymentContainerName
    tableNames: stateTableNames
    enableImmutability: enableImmutability
    immutabilityPeriodDays: immutabilityPeriodDays
    enableLifecycleTiering: enableLifecycleTiering
    coolAfterDays: coolAfterDays
    coldAfterDays: coldAfterDays
    publicNetworkAccess: publicNetworkAccess
  }
}

module serviceBus './core/messaging/service-bus.bicep' = {
  name: 'serviceBus'
  scope: rg
  params: {
    name: '${abbrs.serviceBusNamespaces}${resourceToken}'
    location: location
    tags: tags
    skuName: effectiveServiceBusSku
    queueNames: serviceBusQueueNames
    lockDuration: 'PT5M'
    maxDeliveryCount: maxDeliveryCount
    defaultMessageTimeToLive: 'P14D'
    duplicateDetectionHistoryTimeWindow: 'PT10M'
    publicNetworkAccess: publicNetworkAccess
  }
}

module keyVault './core/security/key-vault.bicep' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionInDays
    publicNetworkAccess: publicNetworkAccess
  }
}

module network './core/networking/virtual-network.bicep' = if (enablePrivateNetworking) {
  name: 'network'
  scope: rg
  params: {
    name: '${abbrs.networkVirtualNetworks}${resourceToken}'
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
    appSubnetPrefix: appSubnetPrefix
    privateEndpointSubnetPrefix: privateEndpointSubnetPrefix
  }
}

// Private endpoints: one per target sub-resource, each with its DNS zone.
var privateEndpoints = [
  {
    key: 'blob'
    groupId: 'blob'
    zone: 'privatelink.blob.${environment().suffixes.storage}'
  }
  {
    key: 'queue'
    groupId: 'queue'
    zone: 'privatelink.queue.${environment().suffixes.storage}'
  }
  {
    key: 'table'
    groupId: 'table'
    zone: 'privatelink.table.${environment().suffixes.storage}'
  }
  {
    key: 'servicebus'
    groupId: 'namespace'
    zone: 'privatelink.servicebus.windows.net'
  }
  {
    key: 'vault'
    groupId: 'vault'
    zone: 'privatelink.vaultcore.azure.net'
  }
]

module endpoints './core/networking/private-endpoint.bicep' = [for pe in privateEndpoints: if (enablePrivateNetworking) {
  name: 'pe-${pe.key}'
  scope: rg
  params: {
    name: '${abbrs.networkPrivateEndpoints}${pe.key}-${resourceToken}'
    location: location
    tags: tags
    subnetId: network.?outputs.privateEndpointSubnetId ?? ''
    virtualNetworkId: network.?outputs.resourceId ?? ''
    targetResourceId: pe.key == 'servicebus' ? serviceBus.outputs.resourceId : (pe.key == 'vault' ? keyVault.outputs.resourceId : storage.outputs.resourceId)
    groupId: pe.groupId
    dnsZoneName: pe.zone
  }
}]

module functionApp './app/function-app.bicep' = {
  name: 'functionApp'
  scope: rg
  params: {
    name: '${abbrs.webSitesFunctions}${resourceToken}'
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    serviceName: serviceName
    identityId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    serviceBusFullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
    keyVaultUri: keyVault.outputs.uri
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    backupSchedule: backupSchedule
    maxDeliveryCount: maxDeliveryCount
    retentionSchedule: retentionSchedule
    logLevel: logLevel
    virtualNetworkSubnetId: enablePrivateNetworking ? (network.?outputs.appSubnetId ?? '') : ''
    enableAuth: enableAuth
    authClientId: authClientId
  }
  dependsOn: [
    rbac
    endpoints
  ]
}

module rbac './app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    serviceBusNamespaceName: serviceBus.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    identityPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
}

module alerts './app/alerts.bicep' = if (enableAlerts) {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    actionGroupName: '${abbrs.insightsActionGroups}${resourceToken}'
    deadLetterAlertName: '${abbrs.insightsMetricAlerts}deadletter-${resourceToken}'
    failedRunsAlertName: '${abbrs.insightsScheduledQueryRules}failed-runs-${resourceToken}'
    serviceBusNamespaceId: serviceBus.outputs.resourceId
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    alertEmail: alertEmail
  }
}

// Outputs azd stores in .azure/<env>/.env and hands to hooks.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_FUNCTIONS_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = functionApp.outputs.uri
output AZURE_FUNCTION_API_URL string = '${functionApp.outputs.uri}/api'
output AZURE_MANAGED_IDENTITY_NAME string = identity.outputs.name
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output AZURE_SERVICEBUS_NAMESPACE string = serviceBus.outputs.fullyQualifiedNamespace
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URL string = keyVault.outputs.uri
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AUTH_ENABLED bool = enableAuth
output AUTH_CLIENT_ID string = authClientId
