// Flex Consumption plan and the Function App running the Go custom handler.
// Every connection is identity-based through the user-assigned identity.
param name string
param planName string
param location string = resourceGroup().location
param tags object = {}

@description('azd service name (azure.yaml) the app is tagged with.')
param serviceName string

param identityId string
param identityClientId string

param storageAccountName string
param storageBlobEndpoint string
param deploymentContainerName string

param serviceBusFullyQualifiedNamespace string
param keyVaultUri string
param applicationInsightsConnectionString string

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('NCRONTAB (six fields) for ScheduleBackups.')
param backupSchedule string

@description('NCRONTAB (six fields) for ApplyRetention.')
param retentionSchedule string

@allowed(['debug', 'info', 'warn', 'error'])
param logLevel string = 'info'

@description('The Service Bus queues\' max delivery count, told to the handler.')
param maxDeliveryCount int

@description('Subnet for VNet integration; empty for none.')
param virtualNetworkSubnetId string = ''

@description('Turn on App Service Authentication (Entra ID) in front of the HTTP API.')
param enableAuth bool = false

@description('Application (client) id of the Entra app registration that defines the app roles.')
param authClientId string = ''

param authTenantId string = subscription().tenantId

@description('Paths reachable without a token when authentication is on.')
param authExcludedPaths array = ['/api/health', '/api/openapi.json']

@description('Extra app settings merged over the defaults.')
param extraAppSettings object = {}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    }
  }
}

// Settings the handler and the Functions host read (see shared/config/settings.go).
// Flex Consumption rejects FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION:
// the runtime comes from functionAppConfig.runtime above.
var appSettings = {
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  MESSAGING_TRANSPORT: 'servicebus'
  ServiceBusConnection__fullyQualifiedNamespace: serviceBusFullyQualifiedNamespace
  ServiceBusConnection__credential: 'managedidentity'
  ServiceBusConnection__clientId: identityClientId
  AZURE_CLIENT_ID: identityClientId
  KEY_VAULT_URL: keyVaultUri
  BACKUP_SCHEDULE: backupSchedule
  BACKUP_MAX_DELIVERY_COUNT: string(maxDeliveryCount)
  RETENTION_SCHEDULE: retentionSchedule
  LOG_LEVEL: logLevel
  // With Easy Auth the API takes roles from X-MS-CLIENT-PRINCIPAL; without it
  // the function key is the only gate and principal headers are ignored.
  API_AUTHORIZATION: enableAuth ? 'easyauth' : 'functionkey'
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: union(extraAppSettings, appSettings)
}

// No publishing with user names and passwords: azd deploys with Entra ID.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

// App Service Authentication: bearer tokens issued for the app registration
// authClientId; the app roles (Backup.Reader, Backup.Operator, Restore.Operator,
// Backup.Admin) arrive as "roles" claims in X-MS-CLIENT-PRINCIPAL and the API
// checks them.
resource auth 'Microsoft.Web/sites/config@2024-04-01' = if (enableAuth) {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
      runtimeVersion: '~1'
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: authExcludedPaths
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${authTenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            authClientId
            'api://${authClientId}'
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

output name string = functionApp.name
output resourceId string = functionApp.id
output defaultHostName string = functionApp.properties.defaultHostName
output uri string = 'https://${functionApp.properties.defaultHostName}'
output planName string = plan.name
