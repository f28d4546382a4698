package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/cloudbackup-d365/cloudbackup/shared/azerr"
)

// Azure implements Store on an azblob client (Azure Storage or Azurite).
type Azure struct {
	c       *azblob.Client
	mu      sync.Mutex
	created map[string]bool
}

var _ Store = (*Azure)(nil)

// NewAzure wraps c.
func NewAzure(c *azblob.Client) *Azure {
	return &Azure{c: c, created: map[string]bool{}}
}

// translate is the one place blob service errors become the package's: the
// sentinels for what callers decide on, otherwise the SDK error (kept in
// the chain) behind a one-line message without the SDK's request dump.
func translate(op, c, n string, err error) error {
	where := c + "/" + n
	switch {
	case err == nil:
		return nil
	case bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound, bloberror.ResourceNotFound) ||
		azerr.Status(err) == http.StatusNotFound:
		return fmt.Errorf("%s %s: %w", op, where, ErrNotFound)
	case bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet):
		return fmt.Errorf("%s %s: %w", op, where, ErrExists)
	}
	return azerr.Wrap(op+" "+where, err)
}

func (a *Azure) ensureContainer(ctx context.Context, name string) error {
	a.mu.Lock()
	done := a.created[name]
	a.mu.Unlock()
	if done {
		return nil
	}
	_, err := a.c.CreateContainer(ctx, name, nil)
	if err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return translate("create container", name, "", err)
	}
	a.mu.Lock()
	a.created[name] = true
	a.mu.Unlock()
	return nil
}

// countingReader counts what the upload read (Put reports the size).
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Put implements Store. It streams through staged blocks, so memory stays
// bounded by the block size whatever the blob size.
func (a *Azure) Put(ctx context.Context, c, n string, r io.Reader, o *PutOptions) (Info, error) {
	if err := a.ensureContainer(ctx, c); err != nil {
		return Info{}, err
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
	cr := &countingReader{r: r}
	resp, err := a.c.UploadStream(ctx, c, n, cr, opts)
	if err != nil {
		return Info{}, translate("put", c, n, err)
	}
	info := Info{Name: n, Size: cr.n}
	if resp.ETag != nil {
		info.ETag = string(*resp.ETag)
	}
	if resp.LastModified != nil {
		info.LastModified = *resp.LastModified
	}
	return info, nil
}

// Get implements Store.
func (a *Azure) Get(ctx context.Context, c, n string) (io.ReadCloser, error) {
	resp, err := a.c.DownloadStream(ctx, c, n, nil)
	if err != nil {
		return nil, translate("get", c, n, err)
	}
	return resp.Body, nil
}

// Stat implements Store.
func (a *Azure) Stat(ctx context.Context, c, n string) (Info, error) {
	p, err := a.c.ServiceClient().NewContainerClient(c).NewBlobClient(n).GetProperties(ctx, nil)
	if err != nil {
		return Info{}, translate("stat", c, n, err)
	}
	info := Info{Name: n}
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

// List implements Store: one flat listing, read page by page as the loop
// asks for more.
func (a *Azure) List(ctx context.Context, c, prefix string) iter.Seq2[Info, error] {
	return func(yield func(Info, error) bool) {
		pager := a.c.NewListBlobsFlatPager(c, &container.ListBlobsFlatOptions{Prefix: &prefix})
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				err = translate("list", c, prefix+"*", err)
				if !errors.Is(err, ErrNotFound) { // a missing container lists nothing
					yield(Info{}, err)
				}
				return
			}
			for _, it := range page.Segment.BlobItems {
				if !yield(itemInfo(it), nil) {
					return
				}
			}
		}
	}
}

func itemInfo(it *container.BlobItem) Info {
	in := Info{Name: *it.Name}
	if p := it.Properties; p != nil {
		if p.ContentLength != nil {
			in.Size = *p.ContentLength
		}
		if p.ETag != nil {
			in.ETag = string(*p.ETag)
		}
		if p.LastModified != nil {
			in.LastModified = *p.LastModified
		}
	}
	return in
}

// Delete implements Store.
func (a *Azure) Delete(ctx context.Context, c, n string) error {
	_, err := a.c.DeleteBlob(ctx, c, n, nil)
	if err = translate("delete", c, n, err); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}
