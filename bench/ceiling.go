package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
)

// readTables are the demo tables the backup reads (those that answer
// RetrieveMultiple), largest first, with their record counts.
func readTables(e *dataversesim.Env) []*dataversesim.TableDef {
	var out []*dataversesim.TableDef
	for _, n := range e.Tables() {
		if t := e.Table(n); t != nil && !t.RefuseRetrieveMultiple {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return e.Count(out[i].LogicalName) > e.Count(out[j].LogicalName) })
	return out
}

// readResult is what a read loop got.
type readResult struct {
	Records int64
	Bytes   int64 // response bodies, uncompressed JSON
	Pages   int
	Seconds float64
}

// readCeiling fetches every page of every table as the backup asks for it
// (5000 per page, all annotations, change tracking where the table has it),
// `parallel` tables at once, and discards the bodies: the fastest the
// simulator can serve the same data to one identity.
func readCeiling(ctx context.Context, e *dataversesim.Env, clientID string, parallel int) (readResult, error) {
	hc := e.AuthorizedClient(clientID)
	tables := readTables(e)
	work := make(chan *dataversesim.TableDef)
	var mu sync.Mutex
	var res readResult
	var firstErr error
	setErr := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for t := range work {
				link := e.APIURL() + t.SetName
				pages, recs, n := 0, int64(0), int64(0)
				for link != "" {
					req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
					if err != nil {
						setErr(err)
						break
					}
					prefer := `odata.maxpagesize=5000,odata.include-annotations="*"`
					if t.ChangeTracking {
						prefer += ",odata.track-changes"
					}
					req.Header.Set("Prefer", prefer)
					req.Header.Set("Accept", "application/json")
					resp, err := hc.Do(req)
					if err != nil {
						setErr(err)
						break
					}
					buf.Reset()
					_, err = io.Copy(&buf, resp.Body)
					resp.Body.Close()
					if err != nil || resp.StatusCode != http.StatusOK {
						setErr(fmt.Errorf("%s: %d %v", t.SetName, resp.StatusCode, err))
						break
					}
					pages++
					n += int64(buf.Len())
					link = nextLink(buf.Bytes())
				}
				recs = int64(e.Count(t.LogicalName))
				mu.Lock()
				res.Records += recs
				res.Bytes += n
				res.Pages += pages
				mu.Unlock()
			}
		}()
	}
	for _, t := range tables {
		work <- t
	}
	close(work)
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	return res, firstErr
}

var nextLinkKey = []byte(`"@odata.nextLink":`)

// nextLink finds @odata.nextLink in a page body without decoding the page.
func nextLink(body []byte) string {
	i := bytes.LastIndex(body, nextLinkKey)
	if i < 0 {
		return ""
	}
	rest := body[i+len(nextLinkKey):]
	end := 1
	for end < len(rest) && (rest[end] != '"' || rest[end-1] == '\\') {
		end++
	}
	var s string
	if end >= len(rest) || json.Unmarshal(rest[:end+1], &s) != nil {
		return ""
	}
	return s
}
