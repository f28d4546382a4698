package backupformat

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
)

// Damage is what VerifyChain found: the tables whose state as of the run
// cannot be trusted, and every problem.
type Damage struct {
	// Tables are the damaged tables: a page or file list of the table, in
	// the run or a run it builds on, or a file its lists refer to, fails
	// its check.
	Tables   map[string]bool
	Problems []Problem
}

// VerifyChain verifies the run and every run it builds on (Verify) and
// names the tables the problems belong to. An error means verification
// could not run.
func VerifyChain(ctx context.Context, b blobstore.Store, env, run string) (*Damage, error) {
	m, err := ReadManifest(ctx, b, env, run)
	if err != nil {
		return nil, fmt.Errorf("read the manifest of run %s: %w", run, err)
	}
	d := &Damage{Tables: map[string]bool{}}
	for _, r := range append([]string{run}, m.BuildsOn...) {
		probs, err := Verify(ctx, b, env, r)
		if err != nil {
			return nil, fmt.Errorf("verify run %s: %w", r, err)
		}
		if len(probs) == 0 {
			continue
		}
		rm := m
		if r != run {
			if rm, err = ReadManifest(ctx, b, env, r); err != nil {
				return nil, err
			}
		}
		files := map[string]bool{}
		for _, p := range probs {
			d.Problems = append(d.Problems, p)
			if rest, ok := strings.CutPrefix(p.Blob, RunPrefix(env, r)+"tables/"); ok {
				d.Tables[strings.SplitN(rest, "/", 2)[0]] = true
			} else {
				files[p.Blob] = true
			}
		}
		if len(files) == 0 {
			continue
		}
		// A file content blob: the tables whose file lists refer to it.
		for _, t := range rm.Tables {
			err := TableFiles(ctx, b, rm, t.Name, func(fr FileRef) error {
				if files[FileBlob(fr.SHA256)] {
					d.Tables[t.Name] = true
				}
				return nil
			})
			if err != nil && !errors.Is(err, ErrTableNotInRun) {
				d.Tables[t.Name] = true // its file list is unreadable
			}
		}
	}
	return d, nil
}

// String names the first five problems.
func (d *Damage) String() string {
	var s []string
	for _, p := range d.Problems[:min(len(d.Problems), 5)] {
		s = append(s, p.Blob+": "+p.Reason)
	}
	if len(d.Problems) > 5 {
		s = append(s, fmt.Sprintf("and %d more", len(d.Problems)-5))
	}
	return strings.Join(s, "; ")
}

// TableList lists the damaged tables, sorted.
func (d *Damage) TableList() []string {
	out := make([]string, 0, len(d.Tables))
	for t := range d.Tables {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
