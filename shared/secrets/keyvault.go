package secrets

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

// contentType marks values written by this package (base64 of the bytes).
const contentType = "application/vnd.cloudbackup.secret+base64"

// KeyVault is the Store backed by an Azure Key Vault.
type KeyVault struct {
	c   *azsecrets.Client
	url string
}

var _ Store = (*KeyVault)(nil)

// KeyVaultOptions configure NewKeyVault.
type KeyVaultOptions struct {
	// Transport replaces the HTTP transport (tests: a client trusting a fake's CA).
	Transport policy.Transporter
	// DisableChallengeResourceVerification skips the check that the vault
	// host ends with the challenge's resource host (tests on 127.0.0.1).
	DisableChallengeResourceVerification bool
}

// NewKeyVault returns a Store for the vault at vaultURL, authenticating with
// cred (the Function App's managed identity in Azure).
func NewKeyVault(vaultURL string, cred azcore.TokenCredential, o *KeyVaultOptions) (*KeyVault, error) {
	opts := &azsecrets.ClientOptions{}
	if o != nil {
		opts.Transport = o.Transport
		opts.DisableChallengeResourceVerification = o.DisableChallengeResourceVerification
	}
	c, err := azsecrets.NewClient(vaultURL, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("secrets: key vault client: %w", err)
	}
	return &KeyVault{c: c, url: vaultURL}, nil
}

// Kind implements Store.
func (k *KeyVault) Kind() string { return "keyvault" }

// Get implements Store.
func (k *KeyVault) Get(ctx context.Context, name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	resp, err := k.c.GetSecret(ctx, name, "", nil)
	if err != nil {
		return nil, translate("get", name, err)
	}
	if resp.Value == nil {
		return nil, fmt.Errorf("secrets: get %s: %w", name, ErrNotFound)
	}
	if resp.ContentType != nil && *resp.ContentType == contentType {
		b, err := base64.StdEncoding.DecodeString(*resp.Value)
		if err != nil {
			return nil, fmt.Errorf("secrets: get %s: stored value is not base64", name)
		}
		return b, nil
	}
	return []byte(*resp.Value), nil // set by hand in the portal
}

// Set implements Store.
func (k *KeyVault) Set(ctx context.Context, name string, value []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := checkValue(value); err != nil {
		return err
	}
	v, ct := base64.StdEncoding.EncodeToString(value), contentType
	_, err := k.c.SetSecret(ctx, name, azsecrets.SetSecretParameters{Value: &v, ContentType: &ct,
		Tags: map[string]*string{"managedBy": to("cloudbackup-d365")}}, nil)
	return translate("set", name, err)
}

// Delete implements Store. Key Vault soft-deletes: the name cannot be reused
// until the deleted secret is purged, which is why names carry the
// connection's unique id.
func (k *KeyVault) Delete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	_, err := k.c.DeleteSecret(ctx, name, nil)
	if errors.Is(translate("delete", name, err), ErrNotFound) {
		return nil
	}
	return translate("delete", name, err)
}

// translate is the one place Key Vault errors become the package's: 404 is
// ErrNotFound; other answers keep status and code, never the request body.
func translate(op, name string, err error) error {
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		if re.StatusCode == http.StatusNotFound {
			return fmt.Errorf("secrets: %s %s: %w", op, name, ErrNotFound)
		}
		return fmt.Errorf("secrets: %s %s: key vault answered %d %s", op, name, re.StatusCode, re.ErrorCode)
	}
	return fmt.Errorf("secrets: %s %s: %w", op, name, err)
}

func to[T any](v T) *T { return &v }
