package dataverse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// MaxPageSize is Dataverse's largest (and default) page size.
const MaxPageSize = 5000

// ReadOptions tune a collection read. The zero value reads 5000-record pages
// with every annotation.
type ReadOptions struct {
	// MaxPageSize is sent as Prefer: odata.maxpagesize (default 5000).
	MaxPageSize int
	// TrackChanges adds Prefer: odata.track-changes (the initial read of a
	// change-tracked table; its last page carries the delta link).
	TrackChanges bool
	// Annotations is the include-annotations preference; default "*".
	Annotations string
}

// Entity is one element of a page's value array, as received.
type Entity struct {
	// Raw is the JSON object (record or $deletedEntity entry).
	Raw json.RawMessage
	// Deleted marks a $deletedEntity tombstone of a delta; ID is then set.
	Deleted bool
	ID      string
}

// Page describes a page read by ReadPage.
type Page struct {
	// NextLink is the @odata.nextLink to read the next page (empty on the last).
	NextLink string
	// DeltaLink is the @odata.deltaLink (last page of a tracked read, or a delta).
	DeltaLink string
	// Entities counts the elements passed to fn, Deleted the tombstones among them.
	Entities, Deleted int
	// TrackingApplied is true when the server answered
	// Preference-Applied: odata.track-changes.
	TrackingApplied bool
}

// CollectionQuery builds the relative URL of a collection read:
// <set>?$select=a,b[&$filter=f]. cols may be empty (all columns).
func CollectionQuery(entitySet string, cols []string, filter string) string {
	var q []string
	if len(cols) > 0 {
		q = append(q, "$select="+url.QueryEscape(strings.Join(cols, ",")))
	}
	if filter != "" {
		q = append(q, "$filter="+url.QueryEscape(filter))
	}
	p := url.PathEscape(entitySet)
	if len(q) > 0 {
		p += "?" + strings.Join(q, "&")
	}
	return p
}

// PreferHeader is the Prefer value for o.
func PreferHeader(o *ReadOptions) string {
	var ro ReadOptions
	if o != nil {
		ro = *o
	}
	if ro.MaxPageSize <= 0 || ro.MaxPageSize > MaxPageSize {
		ro.MaxPageSize = MaxPageSize
	}
	if ro.Annotations == "" {
		ro.Annotations = "*"
	}
	parts := []string{"odata.maxpagesize=" + strconv.Itoa(ro.MaxPageSize), `odata.include-annotations="` + ro.Annotations + `"`}
	if ro.TrackChanges {
		parts = append([]string{"odata.track-changes"}, parts...)
	}
	return strings.Join(parts, ", ")
}

// ReadPage GETs one page of a collection (a relative query built with
// CollectionQuery, or an @odata.nextLink / @odata.deltaLink used unchanged)
// and calls fn for each element of "value" as it is decoded: the page is
// never held whole, only the element being handled. A delta's
// $deletedEntity entries come with Deleted set. An error from fn stops the
// read and is returned as is; a body that ends early or is not JSON gives a
// decode error (transient: read the page again).
func (c *Client) ReadPage(ctx context.Context, pathOrURL string, o *ReadOptions, fn func(Entity) error) (Page, error) {
	req, err := c.newRequest(ctx, http.MethodGet, pathOrURL, nil)
	if err != nil {
		return Page{}, err
	}
	req.Header.Set("Prefer", PreferHeader(o))
	resp, err := c.do(ctx, req)
	if err != nil {
		return Page{}, err
	}
	defer resp.Body.Close()
	var pg Page
	pg.TrackingApplied = strings.Contains(resp.Header.Get("Preference-Applied"), "odata.track-changes")
	if err := decodePage(resp.Body, &pg, fn); err != nil {
		return pg, fmt.Errorf("dataverse: read page of %s: %w", redact(req.URL), err)
	}
	return pg, nil
}

// FuncError wraps an error returned by a ReadPage callback, so callers can
// tell it from a read or decode error.
type FuncError struct{ Err error }

func (e *FuncError) Error() string { return e.Err.Error() }
func (e *FuncError) Unwrap() error { return e.Err }

var deletedMarker = []byte("$deletedEntity")

func decodePage(r interface{ Read([]byte) (int, error) }, pg *Page, fn func(Entity) error) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		k, ok := t.(string)
		if !ok {
			return fmt.Errorf("unexpected token %v", t)
		}
		switch k {
		case "@odata.nextLink":
			if err := dec.Decode(&pg.NextLink); err != nil {
				return err
			}
		case "@odata.deltaLink":
			if err := dec.Decode(&pg.DeltaLink); err != nil {
				return err
			}
		case "value":
			if err := expectDelim(dec, '['); err != nil {
				return err
			}
			for dec.More() {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return err
				}
				ent := Entity{Raw: raw}
				if bytes.Contains(raw, deletedMarker) {
					var d struct {
						Context string `json:"@odata.context"`
						ID      string `json:"id"`
					}
					if json.Unmarshal(raw, &d) == nil && strings.HasSuffix(d.Context, "/$deletedEntity") {
						ent.Deleted, ent.ID = true, d.ID
						pg.Deleted++
					}
				}
				pg.Entities++
				if err := fn(ent); err != nil {
					return &FuncError{Err: err}
				}
			}
			if err := expectDelim(dec, ']'); err != nil {
				return err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
		}
	}
	return expectDelim(dec, '}')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, got %v", want, t)
	}
	return nil
}

// RecordInfo is what the engine needs from a record besides its JSON.
type RecordInfo struct {
	ID         string
	ETag       string
	Version    int64
	ModifiedOn string
}

// ParseRecordInfo reads the primary key, @odata.etag, its version and
// modifiedon from a record. It returns the record's fields too, for callers
// that rewrite the record.
func ParseRecordInfo(raw json.RawMessage, primaryID string) (RecordInfo, map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return RecordInfo{}, nil, err
	}
	var ri RecordInfo
	if v, ok := m[primaryID]; ok {
		_ = json.Unmarshal(v, &ri.ID)
	}
	if ri.ID == "" {
		return ri, m, fmt.Errorf("record without its primary key %s", primaryID)
	}
	if v, ok := m["@odata.etag"]; ok {
		_ = json.Unmarshal(v, &ri.ETag)
		ri.Version = ETagVersion(ri.ETag)
	}
	if v, ok := m["versionnumber"]; ok && ri.Version == 0 {
		var n json.Number
		if json.Unmarshal(v, &n) == nil {
			ri.Version, _ = n.Int64()
		}
	}
	if v, ok := m["modifiedon"]; ok {
		_ = json.Unmarshal(v, &ri.ModifiedOn)
	}
	return ri, m, nil
}

// ETagVersion returns the number inside W/"<n>" (0 when not a number).
func ETagVersion(etag string) int64 {
	s := strings.TrimPrefix(etag, "W/")
	s = strings.Trim(s, `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return n
}
