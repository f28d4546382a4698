package dataverse

import (
	"bytes"
	"fmt"
	"testing"
)

// benchRecord is an account as the Web API returns it with all
// annotations: about 90 properties, 2 KB.
func benchRecord(i int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"@odata.etag":"W/\"%d\"","accountid":"00000000-0000-0000-0000-%012d","name":"Account %d",`, 1000+i, i, i)
	fmt.Fprintf(&b, `"modifiedon@OData.Community.Display.V1.FormattedValue":"1/2/2026 3:04 AM","modifiedon":"2026-01-02T03:04:05Z",`)
	for k := range 40 {
		fmt.Fprintf(&b, `"cr1_col%02d@OData.Community.Display.V1.FormattedValue":"Value %d","cr1_col%02d":"value \"%d\" text",`, k, k, k, k)
	}
	fmt.Fprintf(&b, `"_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname":"systemuser","_ownerid_value":"00000000-0000-0000-0000-000000000001",`)
	fmt.Fprintf(&b, `"description":"Seeded account \"quoted\" and\nmultiline","versionnumber":%d}`, 1000+i)
	return b.Bytes()
}

func benchPage(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"@odata.context":"https://x/api/data/v9.2/$metadata#accounts","value":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(benchRecord(i))
	}
	b.WriteString(`],"@odata.nextLink":"https://x/api/data/v9.2/accounts?$skiptoken=abc"}`)
	return b.Bytes()
}

// BenchmarkDecodePage streams a 5000-record page into entities (what
// ReadPage does with a response body).
func BenchmarkDecodePage(b *testing.B) {
	page := benchPage(5000)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		var pg Page
		if err := decodePage(bytes.NewReader(page), &pg, func(Entity) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(5000*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkParseRecordInfo is the per-record parse the backup does after
// decoding (id, etag, version, modifiedon).
func BenchmarkParseRecordInfo(b *testing.B) {
	rec := benchRecord(1)
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseRecordInfo(rec, "accountid"); err != nil {
			b.Fatal(err)
		}
	}
}
