package dataversesim

import (
	"encoding/gob"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// -state FILE (issue 3 item 7): rows, tombstones, versions and file bytes
// of every environment, gob-encoded. Columns are stored by name so a schema
// change does not scramble old state. Saved on Close and every 2 s while
// dirty; written to a temporary file and renamed, so a crash leaves the old
// state intact.

func init() {
	gob.Register(time.Time{})
	gob.Register(Ref{})
}

type stateFile struct {
	Format int
	Seed   int64
	Envs   map[string]*envState
}

type envState struct {
	Version int64
	Tables  map[string]*tableState
	Files   map[string]*fileBlob
}

type tableState struct {
	Records []recState
	Tombs   []tomb
}

type recState struct {
	ID      string
	Version int64
	Vals    map[string]any
}

func (s *Server) snapshot() *stateFile {
	st := &stateFile{Format: 1, Seed: s.opts.Seed, Envs: map[string]*envState{}}
	for _, e := range s.envs {
		if !e.HasDataverse() {
			continue
		}
		e.mu.Lock() // clears dirty
		es := &envState{Version: e.version, Tables: map[string]*tableState{}, Files: map[string]*fileBlob{}}
		for name, td := range e.tables {
			ts := &tableState{Tombs: append([]tomb(nil), td.tombs...)}
			for _, id := range td.ids {
				rec := td.recs[id]
				vals := map[string]any{}
				for i, a := range td.def.Attrs {
					if v := rec.Vals[i]; v != nil {
						vals[a.Name] = v
					}
				}
				ts.Records = append(ts.Records, recState{ID: id, Version: rec.Version, Vals: vals})
			}
			es.Tables[name] = ts
		}
		for id, f := range e.files {
			es.Files[id] = f
		}
		e.dirty = false
		e.mu.Unlock()
		st.Envs[e.spec.name] = es
	}
	return st
}

func (s *Server) saveState(path string) error {
	st := s.snapshot()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dataversesim-state-*")
	if err != nil {
		return err
	}
	if err := gob.NewEncoder(tmp).Encode(st); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (s *Server) saveIfDirty(path string) error {
	dirty := false
	for _, e := range s.envs {
		e.mu.RLock()
		dirty = dirty || e.dirty
		e.mu.RUnlock()
	}
	if !dirty {
		return nil
	}
	return s.saveState(path)
}

// loadState restores environments from path; false when the file is absent.
func (s *Server) loadState(path string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	var st stateFile
	if err := gob.NewDecoder(f).Decode(&st); err != nil {
		return false, fmt.Errorf("dataversesim: state %s: %w", path, err)
	}
	if st.Seed != s.opts.Seed {
		return false, fmt.Errorf("dataversesim: state %s was made with seed %d, not %d (identities would differ)", path, st.Seed, s.opts.Seed)
	}
	for _, e := range s.envs {
		es := st.Envs[e.spec.name]
		if es == nil || !e.HasDataverse() {
			if e.HasDataverse() {
				e.seed()
			}
			continue
		}
		e.version = es.Version
		e.created = baseTime
		for name, ts := range es.Tables {
			td := e.tables[name]
			if td == nil {
				continue
			}
			td.tombs = ts.Tombs
			for _, rs := range ts.Records {
				rec := newRecord(td.def, rs.ID)
				rec.Version = rs.Version
				for k, v := range rs.Vals {
					rec.set(td.def, k, v)
				}
				td.recs[rec.ID] = rec
				td.ids = append(td.ids, rec.ID)
			}
		}
		e.files = es.Files
		if e.files == nil {
			e.files = map[string]*fileBlob{}
		}
	}
	return true, nil
}
