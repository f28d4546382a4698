package secrets

import (
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// OpenOptions say which store to open.
type OpenOptions struct {
	// KeyVaultURL selects Key Vault when set (KEY_VAULT_URL).
	KeyVaultURL string
	// Credential reaches Key Vault (the managed identity).
	Credential azcore.TokenCredential
	// InAzure refuses the local store.
	InAzure bool
	// LocalDir is the local store's directory (LOCAL_SECRETS_DIR).
	LocalDir string
}

// ErrLocalInAzure is returned when the local store is asked for in Azure.
var ErrLocalInAzure = errors.New("secrets: the local secret store is for development only and is refused in Azure; set KEY_VAULT_URL")

// Open returns Key Vault when a URL is configured, else the local store
// (refused in Azure).
func Open(o OpenOptions) (Store, error) {
	if o.KeyVaultURL != "" {
		if o.Credential == nil {
			return nil, errors.New("secrets: Key Vault needs a credential")
		}
		return NewKeyVault(o.KeyVaultURL, o.Credential, nil)
	}
	if o.InAzure {
		return nil, ErrLocalInAzure
	}
	dir := o.LocalDir
	if dir == "" {
		dir = ".localsecrets"
	}
	return NewLocal(dir)
}
