// Service Bus namespace (Entra ID only) with one queue per name in queueNames.
param name string
param location string = resourceGroup().location
param tags object = {}

@description('Standard is enough; Premium is required for private endpoints.')
@allowed(['Standard', 'Premium'])
param skuName string = 'Standard'

@description('Queue names; the Go list messaging.Queues() is the source (checked by infra tests).')
param queueNames array

@description('Peek-lock duration; extracting one page of a large table can take minutes (5 minutes is the Service Bus maximum).')
param lockDuration string = 'PT5M'

@description('Deliveries before a message is dead-lettered.')
param maxDeliveryCount int = 10

@description('Message time to live.')
param defaultMessageTimeToLive string = 'P14D'

@description('Window in which a repeated MessageId is dropped.')
param duplicateDetectionHistoryTimeWindow string = 'PT10M'

@allowed(['Enabled', 'Disabled'])
param publicNetworkAccess string = 'Enabled'

resource namespace 'Microsoft.ServiceBus/namespaces@2021-11-01' = {
  name: name
  location: location
  tags: tags
  sku: skuName == 'Premium' ? {
    name: 'Premium'
    tier: 'Premium'
    capacity: 1
  } : {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: skuName == 'Premium' ? publicNetworkAccess : 'Enabled'
  }
}

resource queues 'Microsoft.ServiceBus/namespaces/queues@2021-11-01' = [for queueName in queueNames: {
  parent: namespace
  name: queueName
  properties: {
    lockDuration: lockDuration
    maxDeliveryCount: maxDeliveryCount
    defaultMessageTimeToLive: defaultMessageTimeToLive
    deadLetteringOnMessageExpiration: true
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionHistoryTimeWindow
    requiresSession: false
    enablePartitioning: false
    maxSizeInMegabytes: 1024
  }
}]

output name string = namespace.name
output resourceId string = namespace.id
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
