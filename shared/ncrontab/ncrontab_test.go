package ncrontab

import (
	"strings"
	"testing"
	"time"
)

func at(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// firings returns the first n times s fires after from.
func firings(t *testing.T, expr string, from time.Time, n int) []string {
	t.Helper()
	s, err := Parse(expr)
	if err != nil {
		t.Fatalf("%q: %v", expr, err)
	}
	var out []string
	for range n {
		from = s.Next(from)
		if from.IsZero() {
			break
		}
		out = append(out, from.Format(time.RFC3339))
	}
	return out
}

// The examples of Microsoft's timer trigger page (azure-docs
// articles/azure-functions/functions-bindings-timer.md, "NCRONTAB
// examples" and the table of value types), each with the firings its
// description implies. 2026-11-21 is a Saturday.
func TestDocumentedExamples(t *testing.T) {
	cases := []struct {
		expr, meaning, from string
		want                []string
	}{
		{"0 */5 * * * *", "once every five minutes", "2026-11-21T20:31:00Z",
			[]string{"2026-11-21T20:35:00Z", "2026-11-21T20:40:00Z", "2026-11-21T20:45:00Z"}},
		{"0 0 * * * *", "once at the top of every hour", "2026-11-21T20:31:00Z",
			[]string{"2026-11-21T21:00:00Z", "2026-11-21T22:00:00Z", "2026-11-21T23:00:00Z", "2026-11-22T00:00:00Z"}},
		{"0 0 */2 * * *", "once every two hours", "2026-11-21T19:00:00Z",
			[]string{"2026-11-21T20:00:00Z", "2026-11-21T22:00:00Z", "2026-11-22T00:00:00Z", "2026-11-22T02:00:00Z"}},
		{"0 0 9-17 * * *", "once every hour from 9 AM to 5 PM", "2026-11-21T16:30:00Z",
			[]string{"2026-11-21T17:00:00Z", "2026-11-22T09:00:00Z", "2026-11-22T10:00:00Z"}},
		{"0 30 9 * * *", "at 9:30 AM every day", "2026-11-21T09:30:00Z",
			[]string{"2026-11-22T09:30:00Z", "2026-11-23T09:30:00Z"}},
		{"0 30 9 * * 1-5", "at 9:30 AM every weekday", "2026-11-20T10:00:00Z", // Friday
			[]string{"2026-11-23T09:30:00Z", "2026-11-24T09:30:00Z", "2026-11-25T09:30:00Z", "2026-11-26T09:30:00Z", "2026-11-27T09:30:00Z", "2026-11-30T09:30:00Z"}},
		{"0 30 9 * Jan Mon", "at 9:30 AM every Monday in January", "2026-11-21T00:00:00Z",
			[]string{"2027-01-04T09:30:00Z", "2027-01-11T09:30:00Z", "2027-01-18T09:30:00Z", "2027-01-25T09:30:00Z", "2028-01-03T09:30:00Z"}},
		// The value types.
		{"0 5 * * * *", "at hh:05:00 every hour", "2026-11-21T20:05:00Z",
			[]string{"2026-11-21T21:05:00Z", "2026-11-21T22:05:00Z"}},
		{"0 * 5 * * *", "at 5:mm:00 every minute of 5 AM", "2026-11-21T05:58:00Z",
			[]string{"2026-11-21T05:59:00Z", "2026-11-22T05:00:00Z", "2026-11-22T05:01:00Z"}},
		{"5-7 * * * * *", "at hh:mm:05, :06 and :07", "2026-11-21T20:30:06Z",
			[]string{"2026-11-21T20:30:07Z", "2026-11-21T20:31:05Z", "2026-11-21T20:31:06Z", "2026-11-21T20:31:07Z"}},
		{"5,8,10 * * * * *", "at hh:mm:05, :08 and :10", "2026-11-21T20:30:09Z",
			[]string{"2026-11-21T20:30:10Z", "2026-11-21T20:31:05Z", "2026-11-21T20:31:08Z"}},
	}
	for _, c := range cases {
		got := firings(t, c.expr, at(t, c.from), len(c.want))
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%q (%s) after %s:\n got  %v\n want %v", c.expr, c.meaning, c.from, got, c.want)
		}
	}
}

// Names are English, case-insensitive and may be abbreviated: NCrontab
// takes the first name that starts with the text.
func TestNames(t *testing.T) {
	from := at(t, "2026-11-21T00:00:00Z") // a Saturday
	same := map[string][]string{
		"0 0 12 * * 1":      {"0 0 12 * * Mon", "0 0 12 * * MON", "0 0 12 * * monday", "0 0 12 * * Monday", "0 0 12 * * mo"},
		"0 0 0 1 1 *":       {"0 0 0 1 Jan *", "0 0 0 1 JANUARY *", "0 0 0 1 j *"},
		"0 0 0 1 3 *":       {"0 0 0 1 Ma *", "0 0 0 1 mar *"}, // "Ma": March comes before May
		"0 0 12 * * 1-5":    {"0 0 12 * * Mon-Fri", "0 0 12 * * mon-friday"},
		"0 0 12 * 1,6 0,6":  {"0 0 12 * Jan,Jun Sun,Sat"},
		"0 0 12 * 2-12/2 *": {"0 0 12 * Feb/2 *"},
	}
	for numeric, named := range same {
		want := firings(t, numeric, from, 5)
		for _, expr := range named {
			if got := firings(t, expr, from, 5); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%q fires %v, want the same as %q: %v", expr, got, numeric, want)
			}
		}
	}
}

func TestNext(t *testing.T) {
	cases := []struct{ expr, after, want string }{
		{"0 0 2 * * *", "2026-11-21T20:30:00Z", "2026-11-22T02:00:00Z"},
		{"0 0 2 * * *", "2026-11-22T01:59:59Z", "2026-11-22T02:00:00Z"},
		{"0 0 2 * * *", "2026-11-22T02:00:00Z", "2026-11-23T02:00:00Z"}, // strictly after
		{"0 0 2 * * *", "2026-11-22T01:59:59.9Z", "2026-11-22T02:00:00Z"},
		{"*/15 * * * * *", "2026-11-21T20:30:07Z", "2026-11-21T20:30:15Z"},
		{"0 0 9-17/4 * * *", "2026-03-14T10:20:30Z", "2026-03-14T13:00:00Z"},
		{"0 0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},
		{"0 0 0 29 2 *", "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z"},   // 2100 is not a leap year
		{"0 0 0 13 * Fri", "2026-03-14T00:00:00Z", "2026-11-13T00:00:00Z"}, // day AND day of week
		{"0 0 6 * * *", "2026-12-31T23:00:00Z", "2027-01-01T06:00:00Z"},
		{"5/20 * * * * *", "2026-11-21T20:30:26Z", "2026-11-21T20:30:45Z"}, // a/n: from a to the end
		{"0 0 0 31 * *", "2026-04-01T00:00:00Z", "2026-05-31T00:00:00Z"},
		{"0 0 12 * * *", "2026-11-21T13:00:00+02:00", "2026-11-21T12:00:00Z"}, // 11:00 UTC: hours are UTC
		// The policy validator's former NextRun cases.
		{"0 0 2 * * *", "2026-03-14T10:20:30Z", "2026-03-15T02:00:00Z"},
		{"0 */15 * * * *", "2026-03-14T10:20:30Z", "2026-03-14T10:30:00Z"},
		{"30 20 10 * * *", "2026-03-14T10:20:30Z", "2026-03-15T10:20:30Z"},
		{"0 0 0 * * 1", "2026-03-14T10:20:30Z", "2026-03-16T00:00:00Z"},
		{"0 0 6 1 4 *", "2026-03-14T10:20:30Z", "2026-04-01T06:00:00Z"},
	}
	for _, c := range cases {
		s, err := Parse(c.expr)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		if got := s.Next(at(t, c.after)); !got.Equal(at(t, c.want)) {
			t.Errorf("%q after %s = %s, want %s", c.expr, c.after, got.Format(time.RFC3339), c.want)
		}
	}
}

func TestNever(t *testing.T) {
	for _, expr := range []string{"0 0 0 30 2 *", "0 0 0 31 2 *", "0 0 0 31 4,6,9,11 *", "0 0 0 30 Feb Mon"} {
		s, err := Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Next(time.Now()); !got.IsZero() || s.Fires() {
			t.Errorf("%q fires at %v", expr, got)
		}
	}
	// Rare but real: 29 February on a Monday (2044, then 2072).
	s, _ := Parse("0 0 0 29 Feb Mon")
	if got := s.Next(at(t, "2026-01-01T00:00:00Z")); !got.Equal(at(t, "2044-02-29T00:00:00Z")) || !s.Fires() {
		t.Errorf("29 February on a Monday: %v", got)
	}
}

func TestParseErrors(t *testing.T) {
	for expr, want := range map[string]string{
		"":                  "six fields",
		"* * *":             "found 3",
		"0 0 * * *":         "put 0 in front", // five fields: the host needs {second}
		"0 0 0 * * * *":     "found 7",
		"60 * * * * *":      `second "60" is not between 0 and 59`,
		"0 0 24 * * *":      `hour "24"`,
		"0 0 0 0 * *":       `day "0"`,
		"0 0 0 * 13 *":      `month "13"`,
		"0 0 12 * * 7":      `day-of-week "7" is not between 0 and 6 (0 is Sunday`,
		"*/0 * * * * *":     "step",
		"*/x * * * * *":     "step",
		"*/-1 * * * * *":    "step",
		"0 30-10 * * * *":   "runs backwards (write 10-30",
		"0 ,5 * * * *":      "empty list item",
		"0 0 0 * FOO *":     `month "FOO" is not a number between 1 and 12 nor an English name`,
		"0 0 0 * * Mun":     `day-of-week "Mun"`,
		"0 0 0 * * Mondays": `day-of-week "Mondays"`,
		"0 +5 * * * *":      `minute "+5"`,
		"0 5- * * * *":      `minute ""`,
		"0 0 0 5-Jan * *":   `day "Jan"`, // names only for months and days of the week
		"%BACKUP_SCHEDULE%": "six fields",
	} {
		_, err := Parse(expr)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to mention %q", expr, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0 0 2 * * *", "*/15 * * * * *", "0 30 9 * * 1-5", "0 0 0 1 JAN *", "0 30 9 * Jan Mon",
		"0 0 0 29 2 *", "5,10 0-30/3 * * * *", "0 0 12 * Feb/2 Sun-Sat"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := Parse(expr)
		if err != nil {
			return
		}
		if s.String() != expr {
			t.Fatalf("String() = %q, want %q", s.String(), expr)
		}
		from := time.Date(2026, 11, 21, 20, 30, 0, 0, time.UTC)
		next := s.Next(from)
		if next.IsZero() {
			if s.Fires() {
				t.Fatalf("%q: no firing after %v but Fires", expr, from)
			}
			return
		}
		if !next.After(from) || next.Nanosecond() != 0 {
			t.Fatalf("%q: next %v not a whole second after %v", expr, next, from)
		}
		// The time found must itself match: the one after (next-1s) is next.
		if !s.Next(next.Add(-time.Second)).Equal(next) {
			t.Fatalf("%q: inconsistent next", expr)
		}
	})
}
