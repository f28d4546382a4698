package tablestore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The one entity-size rule, from Table Storage's limits: an entity holds at
// most 1 MiB, a string property at most 64 KiB (32 Ki UTF-16 code units),
// 252 properties besides PartitionKey, RowKey and Timestamp, and keys of at
// most 1 KiB. Sizes are counted with the service's published formula
// (4 bytes + 2 per key character, and per property 8 bytes + 2 per name
// character + the value: 4 bytes + 2 per UTF-16 code unit for a string,
// 4 bytes for an Int32). Both implementations apply the rule, so a document
// that fits in memory also fits in Azure.
const (
	// MaxEntityBytes is the most an encoded entity may weigh by that
	// formula: 1 MiB less 1 KiB of headroom, because the formula is the
	// service's estimate and the service refuses a little before 1 MiB.
	MaxEntityBytes = 1<<20 - 1<<10
	// MaxKeyChars is the longest PartitionKey or RowKey (UTF-16 units).
	MaxKeyChars = 1024
	// MaxColumnChars is the longest column value (UTF-16 units).
	MaxColumnChars = 32 << 10
	// chunkUnits is how many UTF-16 units of the document go into one Data
	// property: under the 32 Ki limit, never splitting a character.
	chunkUnits = 32000
	// maxProperties is the number of properties an entity may add to the
	// three system ones.
	maxProperties = 252
)

// The stored shape: the JSON document split over string properties Data,
// Data1, Data2, ... and their count in DataChunks (Int32), plus the columns.
// Entities written before this package (one "Data" property and no count,
// or runstate's D0..Dn with Chunks) are read as well.
const (
	propData   = "Data"
	propChunks = "DataChunks"
)

// entitySize is the service formula for an entity of these properties.
func entitySize(pk, rk string, chunks []string, columns map[string]string) int {
	size := 4 + 2*(utf16Len(pk)+utf16Len(rk))
	for i, c := range chunks {
		size += 8 + 2*len(chunkName(i)) + 4 + 2*utf16Len(c)
	}
	size += 8 + 2*len(propChunks) + 4
	for name, v := range columns {
		size += 8 + 2*len(name) + 4 + 2*utf16Len(v)
	}
	return size
}

func chunkName(i int) string {
	if i == 0 {
		return propData
	}
	return propData + strconv.Itoa(i)
}

// utf16Len counts UTF-16 code units (what Table Storage measures strings in).
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

// splitDoc cuts the document into chunks of at most chunkUnits UTF-16 units,
// on character boundaries.
func splitDoc(doc string) []string {
	var out []string
	for len(doc) > 0 {
		units, cut := 0, 0
		for cut < len(doc) {
			r, size := utf8.DecodeRuneInString(doc[cut:])
			u := 1
			if r >= 0x10000 {
				u = 2
			}
			if units+u > chunkUnits {
				break
			}
			units += u
			cut += size
		}
		out = append(out, doc[:cut])
		doc = doc[cut:]
	}
	return out
}

// CheckKey reports whether s can be a PartitionKey or RowKey: not empty, at
// most MaxKeyChars, valid UTF-8, and none of the characters Table Storage
// refuses in keys (/ \ # ? and control characters).
func CheckKey(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty key", ErrInvalid)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: key %q is not valid UTF-8", ErrInvalid, s)
	case utf16Len(s) > MaxKeyChars:
		return fmt.Errorf("%w: key of %d characters, over %d", ErrInvalid, utf16Len(s), MaxKeyChars)
	}
	for _, r := range s {
		if r == '/' || r == '\\' || r == '#' || r == '?' || r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return fmt.Errorf("%w: key %q holds %q, which Table Storage refuses in keys", ErrInvalid, s, r)
		}
	}
	return nil
}

// reserved reports whether a property name belongs to the encoding (or to
// the service) rather than to the columns.
func reserved(name string) bool {
	switch name {
	case "PartitionKey", "RowKey", "Timestamp", "Chunks":
		return true
	}
	if strings.HasPrefix(name, propData) {
		return true
	}
	// Legacy runstate chunks D0..Dn.
	if len(name) > 1 && name[0] == 'D' && strings.Trim(name[1:], "0123456789") == "" {
		return true
	}
	return false
}

func checkColumn(name, value string) error {
	if name == "" || len(name) > 255 || reserved(name) {
		return fmt.Errorf("%w: column name %q is empty, too long or reserved (PartitionKey, RowKey, Timestamp, Chunks, Data*, D<n>)", ErrInvalid, name)
	}
	for i, r := range name {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return fmt.Errorf("%w: column name %q: use letters, digits and _ (not first a digit)", ErrInvalid, name)
		}
	}
	if !utf8.ValidString(value) {
		return fmt.Errorf("%w: column %s is not valid UTF-8", ErrInvalid, name)
	}
	if n := utf16Len(value); n > MaxColumnChars {
		return fmt.Errorf("%w: column %s has %d characters, over %d", ErrTooLarge, name, n, MaxColumnChars)
	}
	return nil
}

// Check applies the entity rules (keys, columns, document, size) without
// writing. Every write runs it first; callers that can shrink a document
// (drop detail) use it to decide.
func Check(e Entity) error {
	_, err := encode(e)
	return err
}

// encode checks e and returns the entity as aztables takes it (JSON object
// of properties). The in-memory store keeps the same bytes, so both read
// through decode.
func encode(e Entity) ([]byte, error) {
	if err := CheckKey(e.PartitionKey); err != nil {
		return nil, fmt.Errorf("partition %w", err)
	}
	if err := CheckKey(e.RowKey); err != nil {
		return nil, fmt.Errorf("row %w", err)
	}
	for name, v := range e.Columns {
		if err := checkColumn(name, v); err != nil {
			return nil, err
		}
	}
	// Invalid UTF-8 would be replaced by U+FFFD on the way: refuse it
	// rather than store something else than was given.
	if !utf8.Valid(e.Doc) || !json.Valid(e.Doc) {
		return nil, fmt.Errorf("%w: document of %s/%s is not valid JSON in UTF-8", ErrInvalid, e.PartitionKey, e.RowKey)
	}
	chunks := splitDoc(string(asciiJSON(e.Doc)))
	if n := len(chunks) + 1 + len(e.Columns); n > maxProperties {
		return nil, fmt.Errorf("%w: %s/%s needs %d properties, over %d", ErrTooLarge, e.PartitionKey, e.RowKey, n, maxProperties)
	}
	if size := entitySize(e.PartitionKey, e.RowKey, chunks, e.Columns); size > MaxEntityBytes {
		return nil, fmt.Errorf("%w: %s/%s weighs %d bytes as an entity (document of %d bytes), over %d",
			ErrTooLarge, e.PartitionKey, e.RowKey, size, len(e.Doc), MaxEntityBytes)
	}
	props := make(map[string]any, len(chunks)+3+len(e.Columns))
	for name, v := range e.Columns {
		props[name] = v
	}
	props["PartitionKey"], props["RowKey"] = e.PartitionKey, e.RowKey
	for i, c := range chunks {
		props[chunkName(i)] = c
	}
	props[propChunks] = len(chunks)
	return json.Marshal(props)
}

// decode reads an entity as aztables returns it (or as Memory keeps it).
func decode(raw []byte) (Entity, error) {
	var props map[string]any
	if err := json.Unmarshal(raw, &props); err != nil {
		return Entity{}, fmt.Errorf("entity is not JSON: %w", err)
	}
	var e Entity
	e.PartitionKey, _ = props["PartitionKey"].(string)
	e.RowKey, _ = props["RowKey"].(string)
	if et, ok := props["odata.etag"].(string); ok {
		e.ETag = ETag(et)
	}
	doc, err := joinChunks(props)
	if err != nil {
		return Entity{}, fmt.Errorf("entity %s/%s: %w", e.PartitionKey, e.RowKey, err)
	}
	e.Doc = []byte(doc)
	for name, v := range props {
		s, ok := v.(string)
		if !ok || reserved(name) || strings.ContainsAny(name, ".@") {
			continue
		}
		if e.Columns == nil {
			e.Columns = map[string]string{}
		}
		e.Columns[name] = s
	}
	return e, nil
}

// joinChunks reassembles the document from Data..DataN (or the legacy D0..Dn).
func joinChunks(props map[string]any) (string, error) {
	name, count := chunkName, props[propChunks]
	if _, ok := props[propData]; !ok {
		if _, legacy := props["D0"]; !legacy {
			return "", fmt.Errorf("no document (no %s property)", propData)
		}
		name, count = func(i int) string { return "D" + strconv.Itoa(i) }, props["Chunks"]
	}
	n := 1
	if c, ok := count.(float64); ok {
		n = int(c)
	}
	var b strings.Builder
	for i := range n {
		s, ok := props[name(i)].(string)
		if !ok {
			return "", fmt.Errorf("corrupt document: chunk %s of %d missing", name(i), n)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// asciiJSON escapes every non-ASCII character of a JSON text as \uXXXX
// (the same JSON value, in ASCII). Documents are stored this way because
// Azurite decodes each network chunk of a table request on its own and turns
// a character split across two chunks into U+FFFD (Azure/Azurite#2670); the
// SDK re-encodes entities, so only text that is ASCII in the document itself
// survives. The price is size: a non-ASCII character weighs 6 UTF-16 units
// (12 above U+FFFF) instead of 1 (2), and the size rule counts the stored form.
func asciiJSON(raw []byte) []byte {
	n := 0
	for _, c := range raw {
		if c >= utf8.RuneSelf {
			n++
		}
	}
	if n == 0 {
		return raw
	}
	out := make([]byte, 0, len(raw)+4*n)
	for len(raw) > 0 {
		if raw[0] < utf8.RuneSelf {
			out = append(out, raw[0])
			raw = raw[1:]
			continue
		}
		r, size := utf8.DecodeRune(raw)
		raw = raw[size:]
		if r >= 0x10000 {
			hi, lo := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, hi, lo)
			continue
		}
		out = fmt.Appendf(out, `\u%04x`, r)
	}
	return out
}
