package backup

import (
	"encoding/json"
	"fmt"
)

// ScanMessage is the body of a scan message (id "scan-<run>").
type ScanMessage struct {
	Environment string `json:"environment"`
	Run         string `json:"run"`
	Attempt     int    `json:"attempt,omitempty"`
}

// ExtractMessage asks for page Page (1-based) of a table of a run. The link
// to read comes from the table task, not the message, so a stale or
// duplicate message cannot make the engine read the wrong page.
type ExtractMessage struct {
	Environment string `json:"environment"`
	Run         string `json:"run"`
	Table       string `json:"table"`
	Page        int    `json:"page"`
	// Identity picks the connection identity (index modulo their number).
	Identity int `json:"identity,omitempty"`
	// Attempt counts re-sends after 429 (and after a fallback to full).
	Attempt int `json:"attempt,omitempty"`
}

// FilesMessage asks for the files of the records of page Page.
type FilesMessage struct {
	Environment string `json:"environment"`
	Run         string `json:"run"`
	Table       string `json:"table"`
	Page        int    `json:"page"`
	Attempt     int    `json:"attempt,omitempty"`
}

func encode(v any) ([]byte, error) { return json.Marshal(v) }

// DecodeScan, DecodeExtract and DecodeFiles parse message bodies and check
// the fields every handler needs.
func DecodeScan(b []byte) (ScanMessage, error) {
	var m ScanMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("scan message: %w", err)
	}
	if m.Environment == "" || m.Run == "" {
		return m, fmt.Errorf("scan message: environment and run are required")
	}
	return m, nil
}

// DecodeExtract parses an extract message.
func DecodeExtract(b []byte) (ExtractMessage, error) {
	var m ExtractMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("extract message: %w", err)
	}
	if m.Environment == "" || m.Run == "" || m.Table == "" || m.Page < 1 {
		return m, fmt.Errorf("extract message: environment, run, table and page >= 1 are required")
	}
	return m, nil
}

// DecodeFiles parses a files message.
func DecodeFiles(b []byte) (FilesMessage, error) {
	var m FilesMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("files message: %w", err)
	}
	if m.Environment == "" || m.Run == "" || m.Table == "" || m.Page < 1 {
		return m, fmt.Errorf("files message: environment, run, table and page >= 1 are required")
	}
	return m, nil
}

func extractID(m ExtractMessage) string {
	id := fmt.Sprintf("x-%s-%s-%d", m.Run, m.Table, m.Page)
	if m.Attempt > 0 {
		id += fmt.Sprintf("-a%d", m.Attempt)
	}
	return truncID(id)
}

func filesID(m FilesMessage) string {
	id := fmt.Sprintf("f-%s-%s-%d", m.Run, m.Table, m.Page)
	if m.Attempt > 0 {
		id += fmt.Sprintf("-a%d", m.Attempt)
	}
	return truncID(id)
}

func truncID(s string) string {
	if len(s) > 128 {
		return s[:128]
	}
	return s
}
