package dataversesim

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Hand-written JSON output: a 5000-row page of 30+ columns must be served
// well under 100 ms (issue 3 acceptance), which encoding/json on maps is not.

// annotations selected by Prefer: odata.include-annotations (reference 1).
type annotations struct {
	formatted, lookupName, assocNav bool
	// crmQuery: the FetchXML paging and count annotations
	// (fetchxmlpagingcookie, morerecords, totalrecordcount).
	crmQuery bool
	header   string // echoed in Preference-Applied
}

func (a annotations) any() bool { return a.formatted || a.lookupName || a.assocNav }

func parseAnnotations(v string) annotations {
	v = strings.Trim(v, `"`)
	a := annotations{header: `odata.include-annotations="` + v + `"`}
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == "*":
			a.formatted, a.lookupName, a.assocNav, a.crmQuery = true, true, true, true
		case p == "OData.Community.Display.V1.FormattedValue" || p == "OData.Community.Display.V1.*":
			a.formatted = true
		case p == "Microsoft.Dynamics.CRM.lookuplogicalname":
			a.lookupName = true
		case p == "Microsoft.Dynamics.CRM.associatednavigationproperty":
			a.assocNav = true
		case p == "Microsoft.Dynamics.CRM.*":
			a.lookupName, a.assocNav, a.crmQuery = true, true, true
		case p == "Microsoft.Dynamics.CRM.fetchxmlpagingcookie" || p == "Microsoft.Dynamics.CRM.morerecords" || p == "Microsoft.Dynamics.CRM.totalrecordcount":
			a.crmQuery = true
		}
	}
	return a
}

const hexDigits = "0123456789abcdef"

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendKey(b []byte, k string) []byte {
	b = appendJSONString(b, k)
	return append(b, ':')
}

func appendFloat(b []byte, f float64) []byte {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.AppendInt(b, int64(f), 10)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

const dvTime = "2006-01-02T15:04:05Z"

func formatThousands(f float64, decimals int) string {
	neg := f < 0
	if neg {
		f = -f
	}
	s := strconv.FormatFloat(f, 'f', decimals, 64)
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	var sb strings.Builder
	if neg {
		sb.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			sb.WriteByte(',')
		}
		sb.WriteRune(c)
	}
	sb.WriteString(frac)
	return sb.String()
}

// formatted is the FormattedValue annotation of a value ("" = none).
func (e *Env) formatted(a *AttrDef, v any) string {
	switch a.Type {
	case TPicklist, TState, TStatus:
		n, _ := v.(int64)
		return a.optionLabel(n)
	case TMultiPick:
		s, _ := v.(string)
		var labels []string
		for _, p := range strings.Split(s, ",") {
			n, _ := strconv.ParseInt(p, 10, 64)
			labels = append(labels, a.optionLabel(n))
		}
		return strings.Join(labels, "; ")
	case TMoney:
		f, _ := v.(float64)
		return "$" + formatThousands(f, 2)
	case TBoolean:
		if b, _ := v.(bool); b {
			return "Yes"
		}
		return "No"
	case TDateTime:
		t, _ := v.(time.Time)
		return t.Format("1/2/2006 3:04 PM")
	case TInteger:
		n, _ := v.(int64)
		return formatThousands(float64(n), 0)
	case TLookup, TCustomer, TOwner:
		ref, _ := v.(Ref)
		if td := e.tables[ref.Table]; td != nil {
			if rec := td.recs[ref.ID]; rec != nil && td.def.PrimaryName != "" {
				s, _ := rec.get(td.def, td.def.PrimaryName).(string)
				return s
			}
		}
	}
	return ""
}

// outputName is the JSON property of a column: lookups are _x_value.
func outputName(a *AttrDef) string {
	if a.IsLookup() {
		return "_" + a.Name + "_value"
	}
	return a.Name
}

// appendRecord writes one entity. cols nil means every readable column.
func (e *Env) appendRecord(b []byte, td *tableData, rec *Record, cols []*AttrDef, ann annotations, context string) []byte {
	return e.appendRecordOpts(b, td, rec, cols, ann, context, false)
}

// appendRecordOpts is appendRecord; omitNull leaves null columns out, as
// FetchXML results do (webapi/use-fetchxml-web-api.md: "Properties with
// null values will not be included").
func (e *Env) appendRecordOpts(b []byte, td *tableData, rec *Record, cols []*AttrDef, ann annotations, context string, omitNull bool) []byte {
	def := td.def
	b = append(b, '{')
	if context != "" {
		b = appendKey(b, "@odata.context")
		b = appendJSONString(b, context)
		b = append(b, ',')
	}
	b = appendKey(b, "@odata.etag")
	b = appendJSONString(b, rec.ETag())
	if cols == nil {
		cols = def.Attrs
	}
	for _, a := range cols {
		var v any
		if a.IsPrimaryID {
			v = rec.ID
		} else {
			v = rec.Vals[a.idx]
		}
		if a.Type == TImage {
			// An image column reads as its thumbnail, base64 (reference 4).
			if id, _ := rec.get(def, a.Name+"id").(string); id != "" && e.files[id] != nil {
				v = e.files[id].thumbnail()
			}
		}
		if v == nil && omitNull && !a.IsPrimaryID {
			continue
		}
		name := outputName(a)
		if v != nil && ann.any() {
			if ann.formatted {
				if f := e.formatted(a, v); f != "" || a.Type == TString {
					if a.Type != TString && a.Type != TMemo {
						b = append(b, ',')
						b = appendKey(b, name+"@OData.Community.Display.V1.FormattedValue")
						b = appendJSONString(b, f)
					}
				}
			}
			if ref, ok := v.(Ref); ok {
				if ann.assocNav {
					b = append(b, ',')
					b = appendKey(b, name+"@Microsoft.Dynamics.CRM.associatednavigationproperty")
					b = appendJSONString(b, a.nav[ref.Table])
				}
				if ann.lookupName {
					b = append(b, ',')
					b = appendKey(b, name+"@Microsoft.Dynamics.CRM.lookuplogicalname")
					b = appendJSONString(b, ref.Table)
				}
			}
		}
		b = append(b, ',')
		b = appendKey(b, name)
		b = e.appendValue(b, a, v)
	}
	return append(b, '}')
}

func (e *Env) appendValue(b []byte, a *AttrDef, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendJSONString(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return appendFloat(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case time.Time:
		b = append(b, '"')
		if a != nil && a.DateTimeBehavior == "DateOnly" {
			b = x.UTC().AppendFormat(b, "2006-01-02") // Edm.Date
		} else {
			b = x.UTC().AppendFormat(b, dvTime) // UserLocal: UTC; TimeZoneIndependent: as stored
		}
		return append(b, '"')
	case Ref:
		return appendJSONString(b, x.ID)
	case []byte:
		return appendJSONString(b, base64.StdEncoding.EncodeToString(x))
	}
	return append(b, "null"...)
}
