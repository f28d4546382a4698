package dataverse

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

type pageTestCred struct{}

func (pageTestCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func pageTestClient(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL, pageTestCred{}, &ClientOptions{Transport: srv.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestReadPageStreams proves a page is decoded while it arrives: the server
// sends the first record, then waits until the callback has seen it before
// sending the rest. A client that buffered the page whole would deadlock.
func TestReadPageStreams(t *testing.T) {
	seen := make(chan struct{})
	var prefer string
	c := pageTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		prefer = r.Header.Get("Prefer")
		w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
		w.Header().Set("Preference-Applied", "odata.track-changes, odata.maxpagesize=5000")
		fmt.Fprint(w, `{"@odata.context":"x","value":[{"accountid":"a1","@odata.etag":"W/\"11\"","name":"A"}`)
		w.(http.Flusher).Flush()
		select {
		case <-seen:
		case <-time.After(10 * time.Second):
			t.Error("the first record was not delivered before the page ended")
		}
		fmt.Fprint(w, `,{"accountid":"a2","@odata.etag":"W/\"12\"","name":"B"}],"@odata.nextLink":"https://`+r.Host+`/api/data/v9.2/accounts?$skiptoken=x"}`)
	})
	var ids []string
	pg, err := c.ReadPage(context.Background(), CollectionQuery("accounts", nil, ""), &ReadOptions{TrackChanges: true}, func(e Entity) error {
		ri, _, err := ParseRecordInfo(e.Raw, "accountid")
		if err != nil {
			return err
		}
		ids = append(ids, ri.ID)
		if ri.ID == "a1" {
			if ri.Version != 11 || ri.ETag != `W/"11"` {
				t.Errorf("record info %+v", ri)
			}
			close(seen)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, ",") != "a1,a2" || pg.Entities != 2 || !strings.Contains(pg.NextLink, "$skiptoken=x") || !pg.TrackingApplied {
		t.Errorf("ids %v page %+v", ids, pg)
	}
	if prefer != `odata.track-changes, odata.maxpagesize=5000, odata.include-annotations="*"` {
		t.Errorf("Prefer %q", prefer)
	}
}

// TestReadPageDelta: a delta with changes and $deletedEntity tombstones and
// the new delta link before the value array.
func TestReadPageDelta(t *testing.T) {
	c := pageTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"@odata.context":"https://h/api/data/v9.2/$metadata#accounts(name)/$delta","@odata.deltaLink":"https://h/api/data/v9.2/accounts?$deltatoken=9%2101%2f01%2f2026","value":[`+
			`{"accountid":"a1","name":"changed","@odata.etag":"W/\"20\""},`+
			`{"@odata.context":"https://h/api/data/v9.2/$metadata#accounts/$deletedEntity","id":"a2","reason":"deleted"}]}`)
	})
	var got []Entity
	pg, err := c.ReadPage(context.Background(), "accounts?$deltatoken=1", nil, func(e Entity) error { got = append(got, e); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Deleted || !got[1].Deleted || got[1].ID != "a2" || pg.Deleted != 1 || !strings.Contains(pg.DeltaLink, "deltatoken") || pg.NextLink != "" {
		t.Errorf("entities %+v page %+v", got, pg)
	}
}

// TestReadPageErrors: a truncated body is an error (read again), a 429 a
// ThrottledError, the expired-token and RetrieveMultiple answers are recognised.
func TestReadPageErrors(t *testing.T) {
	c := pageTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("case") {
		case "truncated":
			fmt.Fprint(w, `{"value":[{"accountid":"a1"},{"accou`)
		case "throttled":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
			fmt.Fprint(w, `{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit of 6000 over time window of 300 seconds."}}`)
		case "expired":
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":{"code":"0x80044352","message":"Version stamp associated with the client has expired. Please perform a full sync."}}`)
		case "refused":
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":{"code":"0x80040800","message":"The 'RetrieveMultiple' method does not support entities of type 'postregarding'."}}`)
		}
	})
	read := func(q string) error {
		_, err := c.ReadPage(context.Background(), "accounts?case="+q, nil, func(Entity) error { return nil })
		return err
	}
	if err := read("truncated"); err == nil {
		t.Error("truncated page accepted")
	}
	if ra, ok := IsThrottled(read("throttled")); !ok || ra != 7*time.Second {
		t.Errorf("429: %v %v", ra, ok)
	}
	if err := read("expired"); !IsChangeTrackingExpired(err) {
		t.Errorf("expired token not recognised: %v", err)
	}
	if err := read("refused"); !IsRetrieveMultipleRefused(err) || IsChangeTrackingExpired(err) {
		t.Errorf("RetrieveMultiple refusal not recognised: %v", err)
	}
}

// FuzzDecodePage: page parsing never panics, and what it accepts is
// consistent (entities counted, tombstones have ids).
func FuzzDecodePage(f *testing.F) {
	for _, s := range []string{
		`{"value":[]}`,
		`{"@odata.context":"c","value":[{"a":1}],"@odata.nextLink":"https://h/x?$skiptoken=1"}`,
		`{"@odata.deltaLink":"d","value":[{"@odata.context":"c/$deletedEntity","id":"i","reason":"deleted"}]}`,
		`{"value":[{"x":"$deletedEntity"}],"extra":{"nested":[1,2,3]}}`,
		`{"value":[`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var pg Page
		n := 0
		err := decodePage(strings.NewReader(string(b)), &pg, func(e Entity) error {
			n++
			if e.Deleted && !json.Valid(e.Raw) {
				t.Fatalf("tombstone from invalid JSON")
			}
			return nil
		})
		if err == nil && (n != pg.Entities || pg.Deleted > pg.Entities) {
			t.Fatalf("counted %d entities, page says %d (%d deleted)", n, pg.Entities, pg.Deleted)
		}
	})
}
