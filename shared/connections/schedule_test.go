package connections

import (
	"testing"
	"time"
)

func TestNextRun(t *testing.T) {
	at := time.Date(2026, 3, 14, 10, 20, 30, 0, time.UTC)
	cases := map[string]string{
		"0 0 2 * * *":      "2026-03-15T02:00:00Z",
		"0 */15 * * * *":   "2026-03-14T10:30:00Z",
		"30 20 10 * * *":   "2026-03-15T10:20:30Z",
		"0 0 0 * * 1":      "2026-03-16T00:00:00Z",
		"0 0 6 1 4 *":      "2026-04-01T06:00:00Z",
		"0 0 9-17/4 * * *": "2026-03-14T13:00:00Z",
	}
	for expr, want := range cases {
		got, err := NextRun(expr, at)
		if err != nil || got.Format(time.RFC3339) != want {
			t.Errorf("NextRun(%q) = %v, %v; want %s", expr, got, err, want)
		}
	}
	if _, err := NextRun("0 0 0 31 2 *", at); err == nil {
		t.Error("31 February matched")
	}
}
