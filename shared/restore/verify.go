package restore

import (
	"context"

	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// intactSource hides the damaged tables of a source (a job with
// proceedIfDamaged restores the tables that verify).
type intactSource struct {
	plan.Source
	skip map[string]bool
}

func (s intactSource) Tables(ctx context.Context) ([]string, error) {
	all, err := s.Source.Tables(ctx)
	var out []string
	for _, t := range all {
		if !s.skip[t] {
			out = append(out, t)
		}
	}
	return out, err
}
