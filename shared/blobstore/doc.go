// Package blobstore is the seam to blob storage: a small Store interface
// (put, get, stat, list as a paged iterator, delete) with one sentinel per
// outcome callers decide on (ErrNotFound, ErrExists), translated from the
// service's errors in one function per implementation.
//
// Implementations: Azure (azblob, for Azure Storage and Azurite; Put streams
// staged blocks, so memory stays bounded whatever the blob size) and Memory
// (a map under a mutex, for unit tests). Both pass the conformance suite in
// blobstoretest. The backup format (backupformat) names the containers and
// blobs; this package knows nothing about them.
package blobstore
