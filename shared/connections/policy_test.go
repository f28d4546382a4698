package connections_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
)

// A policy schedule is checked with the Functions host's NCRONTAB syntax
// (shared/ncrontab, the parser the scheduler and the dev host use): names
// of months and days are accepted, what the host refuses or what never
// fires is refused with the reason.
func TestPolicyScheduleUsesHostSyntax(t *testing.T) {
	for _, s := range []string{"0 0 2 * * *", "0 30 9 * Jan Mon", "0 0 */6 * * MON-FRI", "0 0 3 1 january,july *", "0 0 0 29 2 *"} {
		p := connections.Policy{Schedule: " " + s + " ", RetentionDays: 1}
		if err := p.Validate(); err != nil {
			t.Errorf("%q refused: %v", s, err)
		} else if p.Schedule != s {
			t.Errorf("schedule stored as %q, want %q", p.Schedule, s)
		}
	}
	for s, why := range map[string]string{
		"0 2 * * *":     "six fields",
		"0 0 12 * * 7":  "0 is Sunday",
		"0 0 0 30 2 *":  "matches no date",
		"0 0 25 * * *":  `hour "25"`,
		"0 0 0 * Foo *": `month "Foo"`,
	} {
		p := connections.Policy{Schedule: s, RetentionDays: 1}
		err := p.Validate()
		var ie *connections.InvalidError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "policy.schedule") || !strings.Contains(err.Error(), why) {
			t.Errorf("%q: %v; want an invalid policy.schedule saying %q", s, err, why)
		}
	}
}
