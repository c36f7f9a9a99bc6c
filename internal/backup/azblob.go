package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// Azure keeps backups as block blobs in an Azure Blob Storage container.
// Put stages blocks and commits the block list last: a backup cut short
// leaves uncommitted blocks only, which List never shows and Azure
// discards after a week.
type Azure struct {
	client    *azblob.Client
	account   string
	container string
	prefix    string // "" or ending in "/"
}

var _ Target = (*Azure)(nil)

// newAzureTarget parses account/container[/prefix] and builds the client
// from the configured credentials.
func newAzureTarget(spec string, az AzureConfig) (*Azure, error) {
	account, rest, _ := strings.Cut(spec, "/")
	container, prefix, _ := strings.Cut(rest, "/")
	if account == "" || container == "" {
		return nil, fmt.Errorf("backup target azblob://%s: want azblob://account/container[/prefix]", spec)
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	endpoint := az.Endpoint
	if endpoint == "" {
		endpoint = "https://" + account + ".blob.core.windows.net"
	}
	endpoint = strings.TrimRight(endpoint, "/") + "/"
	if _, err := url.Parse(endpoint); err != nil {
		return nil, fmt.Errorf("atrium.backup.azure.endpoint: %v", err)
	}
	opts := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry:                           policy.RetryOptions{MaxRetries: 3},
		InsecureAllowCredentialWithHTTP: strings.HasPrefix(endpoint, "http://"),
	}}
	var client *azblob.Client
	var err error
	switch {
	case az.AccountKey != "":
		cred, cerr := azblob.NewSharedKeyCredential(account, az.AccountKey)
		if cerr != nil {
			return nil, fmt.Errorf("atrium.backup.azure.accountKey: %v", cerr)
		}
		client, err = azblob.NewClientWithSharedKeyCredential(endpoint, cred, opts)
	case az.SASToken != "":
		client, err = azblob.NewClientWithNoCredential(endpoint+"?"+strings.TrimPrefix(az.SASToken, "?"), opts)
	default:
		return nil, fmt.Errorf("backup target azblob://%s needs atrium.backup.azure.accountKey or sasToken", spec)
	}
	if err != nil {
		return nil, fmt.Errorf("backup target azblob://%s: %v", spec, err)
	}
	return &Azure{client: client, account: account, container: container, prefix: prefix}, nil
}

func (a *Azure) String() string {
	return "azblob://" + path.Join(a.account, a.container, a.prefix)
}

// Put uploads the backup as blocks and commits them.
func (a *Azure) Put(ctx context.Context, name string, r io.Reader) error {
	if !IsName(name) {
		return fmt.Errorf("%q is not a backup name", name)
	}
	_, err := a.client.UploadStream(ctx, a.container, a.prefix+name, r, &azblob.UploadStreamOptions{BlockSize: 4 << 20, Concurrency: 2})
	if err != nil {
		return fmt.Errorf("uploading %s to %s: %w", name, a, azureErr(err))
	}
	return nil
}

// List returns the backups under the prefix.
func (a *Azure) List(ctx context.Context) ([]Info, error) {
	prefix := a.prefix
	pager := a.client.NewListBlobsFlatPager(a.container, &azblob.ListBlobsFlatOptions{Prefix: &prefix})
	var out []Info
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", a, azureErr(err))
		}
		for _, b := range page.Segment.BlobItems {
			if b.Name == nil {
				continue
			}
			name := strings.TrimPrefix(*b.Name, a.prefix)
			if !IsName(name) {
				continue
			}
			info := Info{Name: name}
			if b.Properties != nil && b.Properties.ContentLength != nil {
				info.Size = *b.Properties.ContentLength
			}
			out = append(out, info)
		}
	}
	return out, nil
}

// Open downloads one backup.
func (a *Azure) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if !IsName(name) {
		return nil, fmt.Errorf("%q is not a backup name (atrium-backup-<time>.tar.gz)", name)
	}
	resp, err := a.client.DownloadStream(ctx, a.container, a.prefix+name, nil)
	if err != nil {
		return nil, fmt.Errorf("downloading %s from %s: %w", name, a, azureErr(err))
	}
	return resp.Body, nil
}

// Delete removes one backup.
func (a *Azure) Delete(ctx context.Context, name string) error {
	if !IsName(name) {
		return fmt.Errorf("%q is not a backup name", name)
	}
	if _, err := a.client.DeleteBlob(ctx, a.container, a.prefix+name, nil); err != nil {
		return fmt.Errorf("deleting %s from %s: %w", name, a, azureErr(err))
	}
	return nil
}

// azureErr shortens the SDK's multi-line response errors to the status and
// error code.
func azureErr(err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return fmt.Errorf("Azure answered %d %s", re.StatusCode, re.ErrorCode)
	}
	return err
}
