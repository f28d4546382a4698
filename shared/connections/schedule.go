package connections

import (
	"fmt"
	"strings"
	"time"
)

// NextRun returns the first time after t (UTC, whole seconds) matched by
// the six-field NCRONTAB expr, searching one year ahead.
func NextRun(expr string, t time.Time) (time.Time, error) {
	if err := checkNCRONTAB(expr); err != nil {
		return time.Time{}, err
	}
	f := strings.Fields(expr)
	bounds := [6][2]int{{0, 59}, {0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 6}}
	var sets [6][64]bool
	for i, field := range f {
		for _, part := range strings.Split(field, ",") {
			rng, stepS, hasStep := strings.Cut(part, "/")
			step := 1
			if hasStep {
				step, _ = atoi(stepS)
			}
			lo, hi := bounds[i][0], bounds[i][1]
			if rng != "*" {
				a, b, isRange := strings.Cut(rng, "-")
				lo, _ = atoi(a)
				hi = lo
				if isRange {
					hi, _ = atoi(b)
				} else if hasStep {
					hi = bounds[i][1]
				}
			}
			for v := lo; v <= hi; v += step {
				sets[i][v] = true
			}
		}
	}
	cur := t.UTC().Truncate(time.Second).Add(time.Second)
	end := cur.AddDate(1, 0, 0)
	for cur.Before(end) {
		switch {
		case !sets[4][int(cur.Month())]:
			cur = time.Date(cur.Year(), cur.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		case !sets[3][cur.Day()] || !sets[5][int(cur.Weekday())]:
			cur = time.Date(cur.Year(), cur.Month(), cur.Day()+1, 0, 0, 0, 0, time.UTC)
		case !sets[2][cur.Hour()]:
			cur = time.Date(cur.Year(), cur.Month(), cur.Day(), cur.Hour()+1, 0, 0, 0, time.UTC)
		case !sets[1][cur.Minute()]:
			cur = cur.Truncate(time.Minute).Add(time.Minute)
		case !sets[0][cur.Second()]:
			cur = cur.Add(time.Second)
		default:
			return cur, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q matches no time within a year", expr)
}
