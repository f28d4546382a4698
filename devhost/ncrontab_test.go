package devhost

import (
	"strings"
	"testing"
	"time"
)

func TestScheduleNext(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	cases := []struct{ expr, after, want string }{
		{"0 0 2 * * *", "2026-11-21T20:30:00Z", "2026-11-22T02:00:00Z"},
		{"0 0 2 * * *", "2026-11-22T01:59:59Z", "2026-11-22T02:00:00Z"},
		{"0 0 2 * * *", "2026-11-22T02:00:00Z", "2026-11-23T02:00:00Z"}, // strictly after
		{"*/15 * * * * *", "2026-11-21T20:30:07Z", "2026-11-21T20:30:15Z"},
		{"0 */5 * * * *", "2026-11-21T20:31:00Z", "2026-11-21T20:35:00Z"},
		{"0 30 9 * * 1-5", "2026-11-21T10:00:00Z", "2026-11-23T09:30:00Z"}, // Sat -> Mon
		{"0 0 0 1 JAN *", "2026-11-21T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"0 0 12 * * SUN", "2026-11-21T00:00:00Z", "2026-11-22T12:00:00Z"},
		{"0 0 12 * * 7", "2026-11-21T00:00:00Z", "2026-11-22T12:00:00Z"},
		{"0 0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},
		{"5,10 0 0 * * *", "2026-11-21T00:00:05Z", "2026-11-21T00:00:10Z"},
		{"0 0 6 * * *", "2026-12-31T23:00:00Z", "2027-01-01T06:00:00Z"},
		{"0 0 * * *", "2026-11-21T20:30:00Z", "2026-11-22T00:00:00Z"}, // five fields: no seconds
	}
	for _, c := range cases {
		s, err := ParseSchedule(c.expr)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		if got := s.Next(at(c.after)); !got.Equal(at(c.want)) {
			t.Errorf("%q after %s = %s, want %s", c.expr, c.after, got.Format(time.RFC3339), c.want)
		}
	}
}

func TestScheduleNever(t *testing.T) {
	s, err := ParseSchedule("0 0 0 30 2 *")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Next(time.Now()); !got.IsZero() {
		t.Errorf("30 February fires at %v", got)
	}
}

func TestScheduleErrors(t *testing.T) {
	for expr, want := range map[string]string{
		"":                  "six fields",
		"* * *":             "six fields",
		"60 * * * * *":      "second \"60\"",
		"0 0 24 * * *":      "hour \"24\"",
		"0 0 0 0 * *":       "day \"0\"",
		"0 0 0 * 13 *":      "month \"13\"",
		"0 0 0 * * 8":       "day-of-week \"8\"",
		"*/0 * * * * *":     "step",
		"0 30-10 * * * *":   "backwards",
		"0 ,5 * * * *":      "empty list item",
		"0 0 0 * FOO *":     "month \"FOO\"",
		"%BACKUP_SCHEDULE%": "six fields",
	} {
		_, err := ParseSchedule(expr)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to mention %q", expr, err, want)
		}
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"0 0 2 * * *", "*/15 * * * * *", "0 30 9 * * 1-5", "0 0 0 1 JAN *", "0 0 0 29 2 *", "5,10 0-30/3 * * * *"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := ParseSchedule(expr)
		if err != nil {
			return
		}
		from := time.Date(2026, 11, 21, 20, 30, 0, 0, time.UTC)
		next := s.Next(from)
		if !next.IsZero() && !next.After(from) {
			t.Fatalf("%q: next %v not after %v", expr, next, from)
		}
		// The time found must itself match: the one after (next-1s) is next.
		if !next.IsZero() && !s.Next(next.Add(-time.Second)).Equal(next) {
			t.Fatalf("%q: inconsistent next", expr)
		}
	})
}
