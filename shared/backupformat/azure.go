package backupformat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// AzureBlobs implements Blobs on an azblob client (Azure Storage or Azurite).
type AzureBlobs struct {
	c       *azblob.Client
	mu      sync.Mutex
	created map[string]bool
}

var _ Blobs = (*AzureBlobs)(nil)

// NewAzureBlobs wraps c.
func NewAzureBlobs(c *azblob.Client) *AzureBlobs {
	return &AzureBlobs{c: c, created: map[string]bool{}}
}

// translate maps SDK errors to the package's sentinels, in one place.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound, bloberror.ResourceNotFound):
		return fmt.Errorf("%w: %v", ErrNotFound, shortErr(err))
	case bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet):
		return ErrExists
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode == 404 {
		return fmt.Errorf("%w: %v", ErrNotFound, shortErr(err))
	}
	return err
}

func shortErr(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return fmt.Sprintf("%d %s", re.StatusCode, re.ErrorCode)
	}
	return err.Error()
}

func (a *AzureBlobs) ensureContainer(ctx context.Context, name string) error {
	a.mu.Lock()
	done := a.created[name]
	a.mu.Unlock()
	if done {
		return nil
	}
	_, err := a.c.CreateContainer(ctx, name, nil)
	if err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return fmt.Errorf("create container %s: %w", name, err)
	}
	a.mu.Lock()
	a.created[name] = true
	a.mu.Unlock()
	return nil
}

// Put implements Blobs. Streams through staged blocks, so memory stays
// bounded by the block size whatever the blob size.
func (a *AzureBlobs) Put(ctx context.Context, c, n string, r io.Reader, o *PutOptions) (BlobInfo, error) {
	if err := a.ensureContainer(ctx, c); err != nil {
		return BlobInfo{}, err
	}
	opts := &blockblob.UploadStreamOptions{BlockSize: 2 << 20, Concurrency: 2}
	if o != nil {
		if o.ContentType != "" {
			ct := o.ContentType
			opts.HTTPHeaders = &blob.HTTPHeaders{BlobContentType: &ct}
		}
		if o.IfNotExists {
			star := azcore.ETagAny
			opts.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: &star}}
		}
	}
	resp, err := a.c.UploadStream(ctx, c, n, r, opts)
	if err != nil {
		return BlobInfo{}, translate(err)
	}
	info := BlobInfo{Name: n}
	if resp.ETag != nil {
		info.ETag = string(*resp.ETag)
	}
	return info, nil
}

// Get implements Blobs.
func (a *AzureBlobs) Get(ctx context.Context, c, n string) (io.ReadCloser, error) {
	resp, err := a.c.DownloadStream(ctx, c, n, nil)
	if err != nil {
		return nil, translate(err)
	}
	return resp.Body, nil
}

// Stat implements Blobs.
func (a *AzureBlobs) Stat(ctx context.Context, c, n string) (BlobInfo, error) {
	p, err := a.c.ServiceClient().NewContainerClient(c).NewBlobClient(n).GetProperties(ctx, nil)
	if err != nil {
		return BlobInfo{}, translate(err)
	}
	info := BlobInfo{Name: n}
	if p.ContentLength != nil {
		info.Size = *p.ContentLength
	}
	if p.ETag != nil {
		info.ETag = string(*p.ETag)
	}
	if p.LastModified != nil {
		info.LastModified = *p.LastModified
	}
	return info, nil
}

// List implements Blobs.
func (a *AzureBlobs) List(ctx context.Context, c, prefix string) ([]BlobInfo, error) {
	pager := a.c.NewListBlobsFlatPager(c, &container.ListBlobsFlatOptions{Prefix: &prefix})
	var out []BlobInfo
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			err = translate(err)
			if errors.Is(err, ErrNotFound) {
				return nil, nil
			}
			return nil, err
		}
		for _, it := range page.Segment.BlobItems {
			bi := BlobInfo{Name: *it.Name}
			if it.Properties != nil {
				if it.Properties.ContentLength != nil {
					bi.Size = *it.Properties.ContentLength
				}
				if it.Properties.ETag != nil {
					bi.ETag = string(*it.Properties.ETag)
				}
				if it.Properties.LastModified != nil {
					bi.LastModified = *it.Properties.LastModified
				}
			}
			out = append(out, bi)
		}
	}
	return out, nil
}

// Delete implements Blobs.
func (a *AzureBlobs) Delete(ctx context.Context, c, n string) error {
	_, err := a.c.DeleteBlob(ctx, c, n, nil)
	if err = translate(err); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}
