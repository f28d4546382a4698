// Package storageaccount builds the Azure SDK clients for the app's Storage
// account (blobs, tables, queues) from configuration: a connection string for
// Azurite locally, identity-based endpoints with a managed identity in Azure.
package storageaccount
