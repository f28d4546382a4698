package backupformat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"testing"
)

func benchData(i int) json.RawMessage {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"@odata.etag":"W/\"%d\"","accountid":"00000000-0000-0000-0000-%012d","name":"Account %d",`, 1000+i, i, i)
	for k := range 40 {
		fmt.Fprintf(&b, `"cr1_col%02d@OData.Community.Display.V1.FormattedValue":"Value %d","cr1_col%02d":"value %d text %d",`, k, k, k, k, i)
	}
	fmt.Fprintf(&b, `"versionnumber":%d}`, 1000+i)
	return b.Bytes()
}

// BenchmarkPageWriter writes a 5000-record page (gzip NDJSON, hashed) as
// ExtractPage does, into io.Discard instead of a blob upload.
func BenchmarkPageWriter(b *testing.B) {
	recs := make([]Record, 5000)
	var size int64
	for i := range recs {
		d := benchData(i)
		size += int64(len(d))
		recs[i] = Record{ID: fmt.Sprintf("00000000-0000-0000-0000-%012d", i), Op: OpUpsert, ETag: fmt.Sprintf(`W/"%d"`, 1000+i), Version: int64(1000 + i), Data: d}
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		w := NewPageWriter(io.Discard)
		for _, r := range recs {
			if err := w.Write(r); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(5000*b.N)/b.Elapsed().Seconds(), "records/s")
}
