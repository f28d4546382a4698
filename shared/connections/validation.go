package connections

import "time"

// Problem is one finding of a validation: what is wrong and how to fix it.
type Problem struct {
	Code     string `json:"code"`
	Severity string `json:"severity"` // error | warning
	Message  string `json:"message"`
	Fix      string `json:"fix,omitempty"`
}

// IdentityCheck is the result of signing in as one identity.
type IdentityCheck struct {
	IdentityID string    `json:"identityId"`
	Mode       string    `json:"mode"`
	OK         bool      `json:"ok"`
	Problems   []Problem `json:"problems"`
	// DirectoryRoles of a service account (Graph memberOf).
	DirectoryRoles []string `json:"directoryRoles,omitempty"`
}

// EnvironmentCheck is the result of one identity against one environment.
type EnvironmentCheck struct {
	EnvironmentID  string    `json:"environmentId,omitempty"`
	URL            string    `json:"url"`
	IdentityID     string    `json:"identityId"`
	OK             bool      `json:"ok"`
	Problems       []Problem `json:"problems"`
	UserID         string    `json:"userId,omitempty"`
	OrganizationID string    `json:"organizationId,omitempty"`
	DopHint        int       `json:"dopHint,omitempty"`
	CheckedAt      time.Time `json:"checkedAt"`
}

// Validation is the answer of validating a connection: ok only when every
// identity signs in and reaches every environment with what backup needs.
type Validation struct {
	OK           bool               `json:"ok"`
	CheckedAt    time.Time          `json:"checkedAt"`
	Identities   []IdentityCheck    `json:"identities"`
	Environments []EnvironmentCheck `json:"environments"`
}

func hasErrors(ps []Problem) bool {
	for _, p := range ps {
		if p.Severity != "warning" {
			return true
		}
	}
	return false
}
