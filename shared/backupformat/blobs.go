package backupformat

import (
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
)

// Blob storage is package blobstore. These names are aliases, kept so the
// engines and tests that say backupformat.Blobs and friends compile
// unchanged; new code uses blobstore directly.
type (
	// Blobs is blobstore.Store.
	Blobs = blobstore.Store
	// BlobInfo is blobstore.Info.
	BlobInfo = blobstore.Info
	// PutOptions is blobstore.PutOptions.
	PutOptions = blobstore.PutOptions
	// MemoryBlobs is blobstore.Memory.
	MemoryBlobs = blobstore.Memory
	// AzureBlobs is blobstore.Azure.
	AzureBlobs = blobstore.Azure
)

// Errors of blob storage (blobstore's sentinels).
var (
	ErrNotFound = blobstore.ErrNotFound
	ErrExists   = blobstore.ErrExists
)

// NewMemoryBlobs is blobstore.NewMemory.
func NewMemoryBlobs() *MemoryBlobs { return blobstore.NewMemory() }

// NewAzureBlobs is blobstore.NewAzure.
func NewAzureBlobs(c *azblob.Client) *AzureBlobs { return blobstore.NewAzure(c) }
