package runstate

import (
	"context"
	"errors"

	"github.com/cloudbackup-d365/cloudbackup/shared/tablestore"
)

// LatestRun returns env's newest run (by creation time), or nil when env
// has none.
func (s *Store) LatestRun(ctx context.Context, env string) (*Run, error) {
	runs, err := s.ListRuns(ctx, env)
	if err != nil {
		return nil, err
	}
	var latest *Run
	for _, r := range runs {
		latest = newer(latest, r)
	}
	return latest, nil
}

// LatestRuns returns the newest run of every environment that has one, by
// environment id: one query of the runs table (the environments' "~active"
// rows excluded) instead of one per environment.
func (s *Store) LatestRuns(ctx context.Context) (map[string]*Run, error) {
	out := map[string]*Run{}
	for e, err := range s.runs.Store.ListAll(ctx) {
		if err != nil {
			return nil, err
		}
		if e.RowKey == lockRow {
			continue
		}
		r, err := tablestore.Decode[Run](e)
		if err != nil {
			return nil, err
		}
		if r.Environment == "" {
			return nil, errors.New("runstate: a run row without its environment")
		}
		r.ETag = e.ETag
		out[r.Environment] = newer(out[r.Environment], r)
	}
	return out, nil
}

// newer returns the later created of a (possibly nil) and b; on a tie the
// greater id, which starts with the creation time.
func newer(a, b *Run) *Run {
	if a == nil || b.CreatedAt.After(a.CreatedAt) || (b.CreatedAt.Equal(a.CreatedAt) && b.ID > a.ID) {
		return b
	}
	return a
}
