package ncrontab

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed NCRONTAB expression.
type Schedule struct {
	expr string
	// One bit per allowed value of each field.
	second, minute, hour, day, month, weekday uint64
}

type field struct {
	name     string
	min, max int
	names    []string // full English names from min up, for months and days
}

var fields = [6]field{
	{name: "second", min: 0, max: 59},
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"January", "February", "March", "April", "May", "June",
		"July", "August", "September", "October", "November", "December"}},
	{name: "day-of-week", min: 0, max: 6, names: []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}},
}

// Parse parses a six-field NCRONTAB expression. Its errors say which field
// is wrong and why.
func Parse(expr string) (*Schedule, error) {
	parts := strings.Fields(expr)
	if len(parts) != 6 {
		hint := ""
		if len(parts) == 5 {
			hint = " (a five-field cron expression lacks {second}: put 0 in front)"
		}
		return nil, fmt.Errorf("schedule %q: NCRONTAB needs six fields {second} {minute} {hour} {day} {month} {day-of-week}, e.g. \"0 0 2 * * *\"; found %d%s",
			expr, len(parts), hint)
	}
	s := &Schedule{expr: expr}
	dst := [6]*uint64{&s.second, &s.minute, &s.hour, &s.day, &s.month, &s.weekday}
	for i, f := range fields {
		bits, err := f.parse(parts[i])
		if err != nil {
			return nil, fmt.Errorf("schedule %q: %w", expr, err)
		}
		*dst[i] = bits
	}
	return s, nil
}

func (f field) parse(text string) (uint64, error) {
	var bits uint64
	for _, item := range strings.Split(text, ",") {
		if item == "" {
			return 0, fmt.Errorf("%s field %q has an empty list item", f.name, text)
		}
		rng, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, ok := number(stepText)
			if !ok || n < 1 {
				return 0, fmt.Errorf("%s field %q: step %q is not a positive whole number", f.name, text, stepText)
			}
			step = n
		}
		lo, hi := f.min, f.max
		switch a, b, isRange := strings.Cut(rng, "-"); {
		case rng == "*":
		case isRange:
			var err error
			if lo, err = f.value(a); err != nil {
				return 0, err
			}
			if hi, err = f.value(b); err != nil {
				return 0, err
			}
			if lo > hi {
				return 0, fmt.Errorf("%s field %q: range %s-%s runs backwards (write %s-%s, or a list for a range that wraps)", f.name, text, a, b, b, a)
			}
		default:
			v, err := f.value(rng)
			if err != nil {
				return 0, err
			}
			lo = v
			if !hasStep {
				hi = v
			}
		}
		for v := lo; v <= hi; v += step {
			bits |= 1 << uint(v)
		}
	}
	return bits, nil
}

// value reads a number or a name (any prefix of a full name, first match).
func (f field) value(s string) (int, error) {
	if n, ok := number(s); ok {
		if n < f.min || n > f.max {
			extra := ""
			if f.name == "day-of-week" {
				extra = " (0 is Sunday; 7 is not accepted by the Functions host)"
			}
			return 0, fmt.Errorf("%s %q is not between %d and %d%s", f.name, s, f.min, f.max, extra)
		}
		return n, nil
	}
	if s != "" && f.names != nil {
		for i, n := range f.names {
			if len(s) <= len(n) && strings.EqualFold(n[:len(s)], s) {
				return f.min + i, nil
			}
		}
		return 0, fmt.Errorf("%s %q is not a number between %d and %d nor an English name (%s, or its start such as %q)",
			f.name, s, f.min, f.max, strings.Join(f.names, ", "), f.names[1][:3])
	}
	return 0, fmt.Errorf("%s %q is not a number between %d and %d", f.name, s, f.min, f.max)
}

// number reads a whole number written with digits only (no sign).
func number(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

func has(bits uint64, v int) bool { return bits&(1<<uint(v)) != 0 }

// horizon bounds the search of Next: the Gregorian calendar repeats every
// 400 years, so an expression that matches nothing in 400 years never does.
const horizon = 400

// Next returns the first time strictly after t (UTC, whole seconds) that
// the schedule matches, or the zero time if it matches none (30 February).
func (s *Schedule) Next(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Second).Add(time.Second)
	limit := t.AddDate(horizon, 0, 1)
	for t.Before(limit) {
		switch {
		case !has(s.month, int(t.Month())):
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		case !has(s.day, t.Day()) || !has(s.weekday, int(t.Weekday())):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
		case !has(s.hour, t.Hour()):
			t = t.Truncate(time.Hour).Add(time.Hour)
		case !has(s.minute, t.Minute()):
			t = t.Truncate(time.Minute).Add(time.Minute)
		case !has(s.second, t.Second()):
			t = t.Add(time.Second)
		default:
			return t
		}
	}
	return time.Time{}
}

// Fires reports whether the schedule matches any time at all (not, for
// example, "0 0 0 30 2 *").
func (s *Schedule) Fires() bool {
	return !s.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero()
}

// String returns the expression as written.
func (s *Schedule) String() string { return s.expr }
