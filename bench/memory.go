package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
)

// Section 3's shapes (issue 8: "pages of 5000 wide records (100 columns,
// 2 KB notes)" and "a 50 MB file column", two sizes each).
const (
	memWideColumns = 100 // extra String columns on account (dataversesim Options.WideColumns)
	memNoteBytes   = 2048
)

var (
	memColumnSizes = []int{100, 1024} // bytes per wide column: two record sizes
	memFileMB      = []int{50, 100}   // file column sizes
	memMaxFileMB   = 128              // cr1_document MaxSizeInKB/1024 in this simulator
)

// benchMemory is section 3: the handler's peak RSS while a full run
// extracts 5000 wide records (every account column set plus 100 extra text
// columns, a note of 2 KB per account) at two record sizes, and while it
// downloads one file column at two file sizes.
func benchMemory(ctx context.Context, cfg *config, rep *report) error {
	s, err := startStack(ctx, cfg, stackOptions{Records: -1, Identities: 1, Sim: func(o *dataversesim.Options) {
		o.WideColumns = memWideColumns
		o.MaxFileSizeMB = memMaxFileMB
	}})
	if err != nil {
		return err
	}
	defer s.Close()
	e := s.Sim.Demo()
	idle, _ := statusKB(s.pid, "VmRSS")
	rep.add("3", "handler RSS, idle after start", "MB", []float64{float64(idle) / 1024}, "")
	n := cfg.size(5000, 1000)
	var accIDs []string
	for i := range n {
		rec := wideAccount(i, 0)
		setWide(rec, memColumnSizes[0], i)
		id, err := e.Create("account", rec)
		if err != nil {
			return err
		}
		accIDs = append(accIDs, id)
	}
	for i, a := range accIDs {
		_, err := e.Create("annotation", map[string]any{"subject": fmt.Sprintf("note %d", i), "notetext": text(memNoteBytes, i),
			"objectid": dataversesim.Ref{Table: "account", ID: a}, "objecttypecode": "account"})
		if err != nil {
			return err
		}
	}
	for k, size := range memColumnSizes {
		if k > 0 {
			for i, id := range accIDs {
				rec := map[string]any{}
				setWide(rec, size, i)
				if err := e.Update("account", id, rec); err != nil {
					return err
				}
			}
		}
		var peaks []float64
		var perRec, jsonPerAcc float64
		for range cfg.reps {
			w := watchPeak(s.pid)
			r, d, err := s.backup(ctx)
			peak := w.Stop()
			if err != nil {
				return err
			}
			perRec = float64(r.Bytes) / float64(max(r.Records, 1))
			logf("memory: %d-byte columns, %d records, %.1f s, peak RSS %.0f MB", size, r.Records, d, peak)
			peaks = append(peaks, peak)
		}
		jsonPerAcc = float64(accountJSONBytes(ctx, s, accIDs[0]))
		rep.add("3", fmt.Sprintf("handler peak RSS, %d accounts (%d columns, %d of %s) + %d notes of 2 KB", n, len(e.Table("account").Attrs), memWideColumns, sizeLabel(size), n), "MB", peaks,
			fmt.Sprintf("5000 per page; %.0f KB of JSON per account; %.0f stored (gzip) bytes per record", jsonPerAcc/1024, perRec))
	}
	// File column: one project, its document replaced by a bigger one.
	proj, err := e.Create("cr1_project", map[string]any{"cr1_name": "big file"})
	if err != nil {
		return err
	}
	for _, mb := range memFileMB {
		if err := uploadFile(ctx, s, proj, mb<<20); err != nil {
			return err
		}
		var peaks []float64
		for range cfg.reps {
			w := watchPeak(s.pid)
			r, d, err := s.backup(ctx)
			peak := w.Stop()
			if err != nil {
				return err
			}
			logf("memory: %d MB file, %d files %d bytes, %.1f s, peak RSS %.0f MB", mb, r.Files, r.FileBytes, d, peak)
			peaks = append(peaks, peak)
		}
		rep.add("3", fmt.Sprintf("handler peak RSS, run downloading a %d MB file column", mb), "MB", peaks, "4 MB Range chunks via a temp file")
	}
	rep.note("section 3: simulator started with WideColumns %d (account: its %d columns + %d String columns cr1_wide001.., with attribute metadata, all set) and MaxFileSizeMB %d (cr1_document MaxSizeInKB); description and notetext 2 KB", memWideColumns, len(e.Table("account").Attrs)-memWideColumns, memWideColumns, memMaxFileMB)
	return nil
}

func sizeLabel(n int) string {
	if n >= 1024 {
		return fmt.Sprintf("%d KB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

// setWide sets the extra wide columns of an account to size characters.
func setWide(rec map[string]any, size, row int) {
	for c := range memWideColumns {
		rec[dataversesim.WideColumnName(c)] = dataversesim.WideValue(size, row, c)
	}
}

// accountJSONBytes is the size of one account as the Web API returns it
// with annotations (what the handler reads per record).
func accountJSONBytes(ctx context.Context, s *stack, id string) int {
	e := s.Sim.Demo()
	hc := e.AuthorizedClient(s.Sim.SecretClients()[0].ClientID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.APIURL()+"accounts("+id+")", nil)
	if err != nil {
		return 0
	}
	req.Header.Set("Prefer", `odata.include-annotations="*"`)
	resp, err := hc.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return len(b)
}

func text(n, seed int) string {
	base := fmt.Sprintf("Wide record %d: lorem ipsum dolor sit amet, consectetur adipiscing elit, \"quoted\" and\nmultiline. ", seed)
	return strings.Repeat(base, n/len(base)+1)[:n]
}

// wideAccount sets every writable account column.
func wideAccount(i int, _ int) map[string]any {
	return map[string]any{
		"name": fmt.Sprintf("Wide account %d", i), "accountnumber": fmt.Sprintf("W-%06d", i),
		"telephone1": "+1 555 0100", "telephone2": "+1 555 0101", "fax": "+1 555 0102",
		"emailaddress1": fmt.Sprintf("wide%d@example.com", i), "websiteurl": "https://wide.example",
		"address1_line1": "1 Wide Street", "address1_city": "Oslo", "address1_stateorprovince": "ST",
		"address1_postalcode": "01234", "address1_country": "Norway", "description": text(2048, i),
		"industrycode": int64(1 + i%8), "accountcategorycode": int64(1 + i%2), "customertypecode": int64(1 + i%5),
		"revenue": 12345.67, "creditlimit": 5000.0, "exchangerate": 1.0, "numberofemployees": int64(i % 5000),
		"creditonhold": i%2 == 0, "donotemail": i%3 == 0, "lastusedincampaign": time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		"cr1_regions": "1,3",
	}
}

// uploadFile stores size random bytes in the project's cr1_document through
// the Web API (chunked upload, as Dataverse requires above 128 MB and
// allows below).
func uploadFile(ctx context.Context, s *stack, id string, size int) error {
	e := s.Sim.Demo()
	hc := e.AuthorizedClient(s.Sim.SecretClients()[0].ClientID)
	data := make([]byte, size)
	_, _ = rand.Read(data)
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, e.APIURL()+"cr1_projects("+id+")/cr1_document", bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("x-ms-file-name", fmt.Sprintf("big-%d.bin", size))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("upload %d bytes: %d %s", size, resp.StatusCode, b)
	}
	return nil
}
