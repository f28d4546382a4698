package connections

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cloudbackup-d365/cloudbackup/shared/identity"
	"github.com/cloudbackup-d365/cloudbackup/shared/ncrontab"
	"github.com/cloudbackup-d365/cloudbackup/shared/tablestore"
)

// Kind is the kind of connection.
type Kind string

// Connection kinds (the seed's "app profile" and "service account").
const (
	KindAppProfile     Kind = "appProfile"
	KindServiceAccount Kind = "serviceAccount"
)

// DefaultPublicClientID is the public client a service account signs in
// through when the connection names none: the app id Microsoft's Dataverse
// samples use for username/password sign-in. A customer may register their
// own public client and give its id instead.
const DefaultPublicClientID = "51f81489-12ee-4a9e-aaae-a2591f45987d"

// Identity is one identity of a connection (no secret material: the secret
// lives in the secret store under SecretName).
type Identity struct {
	ID                      string        `json:"id"`
	Mode                    identity.Mode `json:"mode"`
	ClientID                string        `json:"clientId,omitempty"`
	Username                string        `json:"username,omitempty"`
	ManagedIdentityClientID string        `json:"managedIdentityClientId,omitempty"`
	// SecretName is the Key Vault (or local store) name of the secret; empty
	// for secretless modes. Not a secret itself.
	SecretName      string     `json:"secretName,omitempty"`
	SecretUpdatedAt *time.Time `json:"secretUpdatedAt,omitempty"`
	CreatedAt       time.Time  `json:"createdAt"`
}

// Spec is the identity's credential description for shared/identity.
func (i Identity) Spec(tenantID string) identity.Spec {
	return identity.Spec{Mode: i.Mode, TenantID: tenantID, ClientID: i.ClientID, Username: i.Username, ManagedIdentityClientID: i.ManagedIdentityClientID}
}

// Connection is how the service signs in to a set of environments: a tenant
// and one or more identities (several spread load over service protection
// budgets; the backup engine chooses among them).
type Connection struct {
	ID             string      `json:"id"`
	Name           string      `json:"name"`
	Kind           Kind        `json:"kind"`
	TenantID       string      `json:"tenantId"`
	Identities     []Identity  `json:"identities"`
	CreatedAt      time.Time   `json:"createdAt"`
	UpdatedAt      time.Time   `json:"updatedAt"`
	LastValidation *Validation `json:"lastValidation,omitempty"`
	ETag           string      `json:"-"`
}

// Identity returns the identity with id, or nil.
func (c *Connection) Identity(id string) *Identity {
	for i := range c.Identities {
		if c.Identities[i].ID == id {
			return &c.Identities[i]
		}
	}
	return nil
}

// Environment states.
const (
	StateActive   = "active"   // reachable as far as we know
	StateDisabled = "disabled" // disabled in Dataverse (discovery says so)
	StateGone     = "gone"     // no longer listed by discovery; backups kept
)

// Environment is a registered Dataverse environment and its backup policy.
type Environment struct {
	ID             string            `json:"id"`
	URL            string            `json:"url"`
	ConnectionID   string            `json:"connectionId"`
	DisplayName    string            `json:"displayName,omitempty"`
	UniqueName     string            `json:"uniqueName,omitempty"`
	OrganizationID string            `json:"organizationId,omitempty"`
	EnvironmentID  string            `json:"powerPlatformEnvironmentId,omitempty"`
	State          string            `json:"state"`
	Source         string            `json:"source"` // manual | discovery
	Policy         Policy            `json:"policy"`
	LastValidation *EnvironmentCheck `json:"lastValidation,omitempty"`
	CreatedAt      time.Time         `json:"createdAt"`
	UpdatedAt      time.Time         `json:"updatedAt"`
	LastSeenAt     *time.Time        `json:"lastSeenAt,omitempty"`
	ETag           string            `json:"-"`
}

// Policy is an environment's backup policy.
type Policy struct {
	// Enabled turns scheduled backups on. New environments start disabled
	// unless DISCOVERY_ENABLE_NEW says otherwise.
	Enabled bool `json:"enabled"`
	// Schedule is an NCRONTAB expression (six fields, UTC); empty means the
	// app-wide BACKUP_SCHEDULE.
	Schedule string `json:"schedule,omitempty"`
	// IncludeTables limits the backup to these logical names (empty: all
	// readable tables); ExcludeTables removes tables from it.
	IncludeTables []string `json:"includeTables"`
	ExcludeTables []string `json:"excludeTables"`
	// Incremental uses change tracking between full runs.
	Incremental bool `json:"incremental"`
	// FullEveryDays: a run is full when the last full run is at least this
	// many days old (0: every run is full).
	FullEveryDays int `json:"fullEveryDays"`
	// RetentionDays and RetentionCount bound how long runs are kept (0: no
	// bound of that kind; at least one must be set).
	RetentionDays  int `json:"retentionDays"`
	RetentionCount int `json:"retentionCount"`
}

// DefaultPolicy is the policy of a newly registered environment.
func DefaultPolicy(enabled bool) Policy {
	return Policy{Enabled: enabled, IncludeTables: []string{}, ExcludeTables: []string{}, Incremental: true, FullEveryDays: 7, RetentionDays: 30}
}

// Validate checks the policy; the error is an *InvalidError naming the field.
func (p *Policy) Validate() error {
	if p.IncludeTables == nil {
		p.IncludeTables = []string{}
	}
	if p.ExcludeTables == nil {
		p.ExcludeTables = []string{}
	}
	if s := strings.TrimSpace(p.Schedule); s != "" {
		if err := checkSchedule(s); err != nil {
			return invalid("policy.schedule", "%v", err)
		}
		p.Schedule = s
	}
	for _, list := range []struct {
		field string
		names []string
	}{{"policy.includeTables", p.IncludeTables}, {"policy.excludeTables", p.ExcludeTables}} {
		if len(list.names) > 1000 {
			return invalid(list.field, "at most 1000 tables")
		}
		for _, n := range list.names {
			if !validLogicalName(n) {
				return invalid(list.field, "%q is not a table logical name (lower-case letters, digits and underscores)", n)
			}
		}
	}
	if p.FullEveryDays < 0 || p.FullEveryDays > 366 {
		return invalid("policy.fullEveryDays", "must be between 0 (every run full) and 366")
	}
	if p.RetentionDays < 0 || p.RetentionDays > 3650 {
		return invalid("policy.retentionDays", "must be between 0 and 3650")
	}
	if p.RetentionCount < 0 || p.RetentionCount > 10000 {
		return invalid("policy.retentionCount", "must be between 0 and 10000")
	}
	if p.RetentionDays == 0 && p.RetentionCount == 0 {
		return invalid("policy.retentionDays", "set retentionDays or retentionCount (or both): unbounded retention is refused")
	}
	return nil
}

// checkText refuses a name an admin typed if it holds a character that
// is not text: control characters (NUL, newlines, escapes), bidirectional
// controls (U+202E makes a name read backwards in a list or a log) and
// U+FFFD, which is what JSON's lone UTF-16 surrogates and invalid UTF-8
// decode to. Such names are shown in lists and written to logs and audit
// entries.
func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return invalid(field, "is not valid UTF-8")
	}
	for i, r := range s {
		switch {
		case unicode.IsControl(r):
			return invalid(field, "holds the control character %U at byte %d; use printable text", r, i)
		case r == '\u200e' || r == '\u200f' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069'):
			return invalid(field, "holds the bidirectional control %U at byte %d, which reorders how the name is shown; use printable text", r, i)
		case r == utf8.RuneError:
			return invalid(field, "holds U+FFFD at byte %d: the JSON held a lone UTF-16 surrogate (\\ud800-\\udfff without its pair) or invalid UTF-8; use printable text", i)
		}
	}
	return nil
}

func validLogicalName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// checkSchedule parses a policy schedule with the parser the scheduler
// and the dev host use, and refuses one that never fires.
func checkSchedule(expr string) error {
	s, err := ncrontab.Parse(expr)
	if err != nil {
		return err
	}
	if !s.Fires() {
		return fmt.Errorf("schedule %q matches no date (e.g. 30 February), so backups would never run", expr)
	}
	return nil
}

// Errors of the package; callers use errors.Is / errors.As.
var (
	ErrNotFound = tablestore.ErrNotFound
	// ErrConflict is a concurrent update (ETag mismatch) or a duplicate.
	ErrConflict = tablestore.ErrConflict
	// ErrInUse refuses deleting a connection environments still use.
	ErrInUse = errors.New("in use")
)

// InvalidError is a rejected input, naming the field.
type InvalidError struct {
	Field   string
	Message string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Message: fmt.Sprintf(format, args...)}
}
