package dataversesim

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// go test -bench . -run XXX ./dataversesim/
// Issue 3 acceptance: start with 10,000 records under 2 s; serve a
// 5000-row page of account with 30 columns well under 100 ms.

func BenchmarkStartup10k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		s, err := New(Options{Records: 10000, Seed: int64(i)})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

var thirtyColumns = "name,accountnumber,telephone1,telephone2,fax,emailaddress1,websiteurl,address1_line1,address1_city,address1_stateorprovince," +
	"address1_postalcode,address1_country,description,industrycode,accountcategorycode,customertypecode,revenue,creditlimit,exchangerate," +
	"numberofemployees,creditonhold,donotemail,lastusedincampaign,_parentaccountid_value,_primarycontactid_value,cr1_regions,statecode,statuscode,createdon,modifiedon"

func BenchmarkAccountPage5000(b *testing.B) {
	s, err := New(Options{Records: -1, TableCounts: map[string]int{"account": 5000, "contact": 100}, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	e := s.Demo()
	if n := strings.Count(thirtyColumns, ",") + 1; n != 30 {
		b.Fatalf("%d columns", n)
	}
	c := e.AuthorizedClient("")
	url := e.APIURL() + "accounts?$select=" + thirtyColumns
	for _, ann := range []bool{false, true} {
		name := "plain"
		if ann {
			name = "annotations"
		}
		b.Run(name, func(b *testing.B) {
			var size int
			for i := 0; i < b.N; i++ {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Prefer", "odata.maxpagesize=5000")
				if ann {
					req.Header.Add("Prefer", `odata.include-annotations="*"`)
				}
				res, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatalf("%d %s", res.StatusCode, body)
				}
				size = len(body)
			}
			b.ReportMetric(float64(size)/1e6, "MB/page")
		})
	}
}
