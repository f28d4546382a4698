package backupformat

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
)

// Record operations.
const (
	OpUpsert = "upsert" // the record as read (created or changed)
	OpDelete = "delete" // a $deletedEntity tombstone: the record no longer exists
)

// Record is one line of a page: a record as Dataverse returned it (Data holds
// the whole JSON object, annotations included), or a tombstone.
type Record struct {
	ID string `json:"id"`
	Op string `json:"op"`
	// ETag is the record's @odata.etag (W/"<version>"), Version its number.
	ETag    string `json:"etag,omitempty"`
	Version int64  `json:"version,omitempty"`
	// ModifiedOn is the record's modifiedon as returned (empty when absent).
	ModifiedOn string `json:"modifiedon,omitempty"`
	// Data is the record's JSON object; absent for tombstones.
	Data json.RawMessage `json:"data,omitempty"`
}

// PageStats describe a written page blob.
type PageStats struct {
	Records int64  `json:"records"` // upserts
	Deletes int64  `json:"deletes"` // tombstones
	Bytes   int64  `json:"bytes"`   // stored (compressed) size
	SHA256  string `json:"sha256"`  // of the stored bytes
}

// PageWriter writes records as gzip NDJSON to an io.Writer, hashing and
// counting the stored bytes. It holds one record at a time.
type PageWriter struct {
	cw    *countingWriter
	gz    *gzip.Writer
	buf   bytes.Buffer
	stats PageStats
}

type countingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// NewPageWriter returns a writer of a page into dst (the blob upload).
func NewPageWriter(dst io.Writer) *PageWriter {
	cw := &countingWriter{w: dst, h: sha256.New()}
	gz, _ := gzip.NewWriterLevel(cw, gzip.BestSpeed)
	return &PageWriter{cw: cw, gz: gz}
}

// Write appends one record line.
func (p *PageWriter) Write(r Record) error {
	switch r.Op {
	case OpUpsert:
		if len(r.Data) == 0 {
			return fmt.Errorf("backupformat: upsert of %s without data", r.ID)
		}
		p.stats.Records++
	case OpDelete:
		r.Data = nil
		p.stats.Deletes++
	default:
		return fmt.Errorf("backupformat: record %s has op %q", r.ID, r.Op)
	}
	if r.ID == "" {
		return errors.New("backupformat: record without id")
	}
	p.buf.Reset()
	enc := json.NewEncoder(&p.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil { // Encode adds the newline
		return err
	}
	_, err := p.gz.Write(p.buf.Bytes())
	return err
}

// Close flushes the gzip stream and returns the page's stats.
func (p *PageWriter) Close() (PageStats, error) {
	if err := p.gz.Close(); err != nil {
		return PageStats{}, err
	}
	p.stats.Bytes = p.cw.n
	p.stats.SHA256 = hex.EncodeToString(p.cw.h.Sum(nil))
	return p.stats, nil
}

// maxLine bounds one record line when reading (a note with a large
// attachment is stored without its body, so lines stay far below this).
const maxLine = 256 << 20

// ReadPage decodes a stored page (gzip NDJSON) from r, calling fn for each
// record in order. It holds one line at a time.
func ReadPage(r io.Reader, fn func(Record) error) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("backupformat: page is not gzip: %w", err)
	}
	defer gz.Close()
	br := bufio.NewReaderSize(gz, 64<<10)
	for line := 1; ; line++ {
		b, err := readLine(br)
		if len(b) > 0 {
			var rec Record
			if err := json.Unmarshal(b, &rec); err != nil {
				return fmt.Errorf("backupformat: page line %d: %w", line, err)
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("backupformat: read page: %w", err)
		}
	}
}

func readLine(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > maxLine {
			return nil, fmt.Errorf("line longer than %d bytes", maxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimSpace(out), err
	}
}

// FileRef is one line of a FileRefsBlob: a file held by a record.
type FileRef struct {
	Table string `json:"table"`
	ID    string `json:"id"`
	// Column is the file/image column, or "documentbody" (annotation) /
	// "body" (activitymimeattachment).
	Column   string `json:"column"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	FileName string `json:"fileName,omitempty"`
	MimeType string `json:"mimeType,omitempty"`
}
