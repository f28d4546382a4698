package blobstore_test

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore/blobstoretest"
	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
)

func TestMain(m *testing.M) { os.Exit(azurite.RunShared(m)) }

var seq atomic.Int64

func TestMemory(t *testing.T) {
	blobstoretest.Run(t, func(t *testing.T) (blobstore.Store, string) {
		return blobstore.NewMemory(), fmt.Sprintf("c%d", seq.Add(1))
	})
}

// TestAzure runs the suite against Azurite through the real azblob client,
// one new container per subtest.
func TestAzure(t *testing.T) {
	c, err := azblob.NewClientFromConnectionString(azurite.Shared(t).ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := blobstore.NewAzure(c)
	blobstoretest.Run(t, func(t *testing.T) (blobstore.Store, string) {
		return s, fmt.Sprintf("conformance%d", seq.Add(1))
	})
}
