package restore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"

	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// damage is what verification of a job's source found: the tables whose
// state cannot be trusted (a page, file list or file of the table, in the
// run or a run it builds on, fails its checksum) and every problem.
type damage struct {
	tables   map[string]bool
	problems []backupformat.Problem
}

// verifySource re-reads every blob of the run and of the runs it builds on
// (backupformat.Verify) and names the tables the problems belong to.
func verifySource(ctx context.Context, b backupformat.Blobs, env, run string) (*damage, error) {
	m, err := backupformat.ReadManifest(ctx, b, env, run)
	if err != nil {
		return nil, fmt.Errorf("read the manifest of run %s: %w", run, err)
	}
	d := &damage{tables: map[string]bool{}}
	for _, r := range append([]string{run}, m.BuildsOn...) {
		probs, err := backupformat.Verify(ctx, b, env, r)
		if err != nil {
			return nil, fmt.Errorf("verify run %s: %w", r, err)
		}
		if len(probs) == 0 {
			continue
		}
		rm := m
		if r != run {
			if rm, err = backupformat.ReadManifest(ctx, b, env, r); err != nil {
				return nil, err
			}
		}
		files := map[string]bool{}
		for _, p := range probs {
			d.problems = append(d.problems, p)
			if rest, ok := strings.CutPrefix(p.Blob, backupformat.RunPrefix(env, r)+"tables/"); ok {
				d.tables[strings.SplitN(rest, "/", 2)[0]] = true
			} else {
				files[p.Blob] = true
			}
		}
		if len(files) == 0 {
			continue
		}
		// A file content blob: the tables whose file lists refer to it.
		for _, t := range rm.Tables {
			err := backupformat.TableFiles(ctx, b, rm, t.Name, func(fr backupformat.FileRef) error {
				if files[backupformat.FileBlob(fr.SHA256)] {
					d.tables[t.Name] = true
				}
				return nil
			})
			if err != nil && !errors.Is(err, backupformat.ErrTableNotInRun) {
				d.tables[t.Name] = true
			}
		}
	}
	return d, nil
}

func (d *damage) String() string {
	var s []string
	for _, p := range d.problems[:min(len(d.problems), 5)] {
		s = append(s, p.Blob+": "+p.Reason)
	}
	if len(d.problems) > 5 {
		s = append(s, fmt.Sprintf("and %d more", len(d.problems)-5))
	}
	return strings.Join(s, "; ")
}

func (d *damage) tableList() []string {
	var out []string
	for t := range d.tables {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// intactSource hides the damaged tables of a source.
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
