package devhost

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed NCRONTAB expression, as the timer trigger uses it:
// six fields {second} {minute} {hour} {day} {month} {day-of-week}, or the
// five-field form without seconds. Times are evaluated in UTC, as the host
// does unless WEBSITE_TIME_ZONE is set.
type Schedule struct {
	expr                                string
	sec, min, hour, day, month, weekday uint64
}

type cronField struct {
	name     string
	min, max int
	names    []string
}

var (
	fieldSecond  = cronField{name: "second", min: 0, max: 59}
	fieldMinute  = cronField{name: "minute", min: 0, max: 59}
	fieldHour    = cronField{name: "hour", min: 0, max: 23}
	fieldDay     = cronField{name: "day", min: 1, max: 31}
	fieldMonth   = cronField{name: "month", min: 1, max: 12, names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}}
	fieldWeekday = cronField{name: "day-of-week", min: 0, max: 6, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}}
)

// ParseSchedule parses an NCRONTAB expression.
func ParseSchedule(expr string) (*Schedule, error) {
	fields := strings.Fields(expr)
	switch len(fields) {
	case 5:
		fields = append([]string{"0"}, fields...)
	case 6:
	default:
		return nil, fmt.Errorf("schedule %q: NCRONTAB needs six fields {second} {minute} {hour} {day} {month} {day-of-week}, found %d", expr, len(fields))
	}
	s := &Schedule{expr: expr}
	dst := []*uint64{&s.sec, &s.min, &s.hour, &s.day, &s.month, &s.weekday}
	for i, f := range []cronField{fieldSecond, fieldMinute, fieldHour, fieldDay, fieldMonth, fieldWeekday} {
		bits, err := f.parse(fields[i])
		if err != nil {
			return nil, fmt.Errorf("schedule %q: %w", expr, err)
		}
		*dst[i] = bits
	}
	return s, nil
}

func (f cronField) parse(text string) (uint64, error) {
	var bits uint64
	for _, part := range strings.Split(text, ",") {
		if part == "" {
			return 0, fmt.Errorf("%s field %q has an empty list item", f.name, text)
		}
		rng, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return 0, fmt.Errorf("%s field %q: step %q is not a positive number", f.name, text, stepText)
			}
			step = n
		}
		lo, hi := f.min, f.max
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if lo, err = f.value(a); err != nil {
				return 0, err
			}
			if hi, err = f.value(b); err != nil {
				return 0, err
			}
			if lo > hi {
				return 0, fmt.Errorf("%s field %q: range %d-%d runs backwards", f.name, text, lo, hi)
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

func (f cronField) value(s string) (int, error) {
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.min + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if f.name == "day-of-week" && v == 7 && err == nil {
		v = 0 // Sunday, as in most crons
	}
	if err != nil || v < f.min || v > f.max {
		return 0, fmt.Errorf("%s %q is not between %d and %d", f.name, s, f.min, f.max)
	}
	return v, nil
}

func has(bits uint64, v int) bool { return bits&(1<<uint(v)) != 0 }

// Next returns the first time strictly after t that matches, or the zero time
// when none does within five years (e.g. 30 February).
func (s *Schedule) Next(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Second).Add(time.Second)
	limit := t.AddDate(5, 0, 0)
	for t.Before(limit) {
		switch {
		case !has(s.month, int(t.Month())):
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		case !has(s.day, t.Day()) || !has(s.weekday, int(t.Weekday())):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
		case !has(s.hour, t.Hour()):
			t = t.Truncate(time.Hour).Add(time.Hour)
		case !has(s.min, t.Minute()):
			t = t.Truncate(time.Minute).Add(time.Minute)
		case !has(s.sec, t.Second()):
			t = t.Add(time.Second)
		default:
			return t
		}
	}
	return time.Time{}
}

func (s *Schedule) String() string { return s.expr }
