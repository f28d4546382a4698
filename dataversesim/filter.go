package dataversesim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// A small OData $filter: comparisons (eq ne gt ge lt le) of a property with a
// literal, and/or/not, parentheses, contains/startswith/endswith. Enough for
// primary keys, modifiedon, lookups (_x_value), choices and metadata flags.
// String comparisons ignore case, as Dataverse's collation does.

type getter func(name string) (any, bool)

type filterNode interface {
	eval(get getter) bool
}

type tok struct {
	kind string // ident, str, num, guid, time, lp, rp, comma
	text string
	val  any
	pos  int // offset in the $filter text, for error messages
}

// filterError is a $filter the parser cannot read; pos is the offset of the
// offending token. Callers answer it with filterSyntax (Dataverse wording).
type filterError struct {
	pos    int
	reason string // for logs only, never sent to clients
}

func (f *filterError) Error() string { return f.reason }

// unsupportedFunc is a $filter function the simulator does not implement.
type unsupportedFunc struct{ name string }

func (u *unsupportedFunc) Error() string { return "unsupported function " + u.name }

// filterDVError maps a parse error to the answer Dataverse gives.
func filterDVError(err error, filter, typeName string) *dvError {
	switch x := err.(type) {
	case *unknownProp:
		return noProperty(x.name, typeName)
	case *unsupportedFunc:
		return errf(400, codeBadRequest, "The function '%s' is not supported.", x.name)
	case *filterError:
		return filterSyntax(x.pos, filter)
	}
	return filterSyntax(0, filter)
}

var (
	reGUID = regexp.MustCompile(`^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?`)
	reTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?`)
	reNum  = regexp.MustCompile(`^-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdDlL]?`)
	reID   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_./]*`)
)

func lexFilter(s string, aliases func(string) (string, bool)) ([]tok, error) {
	var out []tok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(':
			out = append(out, tok{kind: "lp", pos: i})
			i++
		case c == ')':
			out = append(out, tok{kind: "rp", pos: i})
			i++
		case c == ',':
			out = append(out, tok{kind: "comma", pos: i})
			i++
		case c == '@':
			// Parameter alias (@p1): its value is another query option.
			m := reID.FindString(s[i+1:])
			v, ok := "", false
			if m != "" && aliases != nil {
				v, ok = aliases("@" + m)
			}
			if !ok {
				return nil, &filterError{pos: i, reason: "unknown parameter alias"}
			}
			sub, err := lexFilter(v, nil)
			if err != nil || len(sub) != 1 {
				return nil, &filterError{pos: i, reason: "parameter alias is not a literal"}
			}
			sub[0].pos = i
			out = append(out, sub[0])
			i += 1 + len(m)
		case c == '\'':
			var sb strings.Builder
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						sb.WriteByte('\'')
						j++
						continue
					}
					break
				}
				sb.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, &filterError{pos: i, reason: "unterminated string literal"}
			}
			out = append(out, tok{kind: "str", val: sb.String(), pos: i})
			i = j + 1
		default:
			rest := s[i:]
			if m := reGUID.FindString(rest); m != "" {
				out = append(out, tok{kind: "guid", val: strings.ToLower(strings.Trim(m, "{}")), pos: i})
				i += len(m)
			} else if m := reTime.FindString(rest); m != "" && strings.Contains(m, "-") {
				t, err := parseDVTime(m)
				if err != nil {
					return nil, &filterError{pos: i, reason: err.Error()}
				}
				out = append(out, tok{kind: "time", val: t, pos: i})
				i += len(m)
			} else if m := reNum.FindString(rest); m != "" {
				f, _ := strconv.ParseFloat(strings.TrimRight(m, "mMdDlL"), 64)
				out = append(out, tok{kind: "num", val: f, pos: i})
				i += len(m)
			} else if m := reID.FindString(rest); m != "" {
				start := i
				i += len(m)
				// Enum literal: Microsoft.Dynamics.CRM.OwnershipTypes'UserOwned'.
				if i < len(s) && s[i] == '\'' && strings.Contains(m, ".") {
					continue
				}
				out = append(out, tok{kind: "ident", text: m, pos: start})
			} else {
				return nil, &filterError{pos: i, reason: "unexpected character"}
			}
		}
	}
	return out, nil
}

func parseDVTime(s string) (time.Time, error) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid date %s", s)
}

type filterParser struct {
	toks  []tok
	pos   int
	end   int // length of the text, the position reported at its end
	known func(string) bool
}

// parseFilter compiles $filter; known validates property names.
func parseFilter(s string, known func(string) bool) (filterNode, error) {
	return parseFilterWith(s, known, nil)
}

// parseFilterWith also resolves parameter aliases (@p1) through aliases.
func parseFilterWith(s string, known func(string) bool, aliases func(string) (string, bool)) (filterNode, error) {
	toks, err := lexFilter(s, aliases)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks, known: known, end: len(s)}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, p.fail("unexpected token")
	}
	return n, nil
}

// fail reports a syntax error at the current token (or the end of the text).
func (p *filterParser) fail(reason string) error {
	pos := p.end
	if p.pos < len(p.toks) {
		pos = p.toks[p.pos].pos
	}
	return &filterError{pos: pos, reason: reason}
}

func (p *filterParser) peekIdent(word string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == "ident" && strings.EqualFold(p.toks[p.pos].text, word)
}

type andNode struct{ l, r filterNode }
type orNode struct{ l, r filterNode }
type notNode struct{ n filterNode }

func (n andNode) eval(g getter) bool { return n.l.eval(g) && n.r.eval(g) }
func (n orNode) eval(g getter) bool  { return n.l.eval(g) || n.r.eval(g) }
func (n notNode) eval(g getter) bool { return !n.n.eval(g) }

func (p *filterParser) or() (filterNode, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peekIdent("or") {
		p.pos++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *filterParser) and() (filterNode, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.peekIdent("and") {
		p.pos++
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func (p *filterParser) unary() (filterNode, error) {
	if p.peekIdent("not") {
		p.pos++
		n, err := p.unary()
		return notNode{n}, err
	}
	if p.pos < len(p.toks) && p.toks[p.pos].kind == "lp" {
		p.pos++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != "rp" {
			return nil, p.fail("missing ')'")
		}
		p.pos++
		return n, nil
	}
	return p.comparison()
}

type operand struct {
	field string
	lit   any
}

func (o operand) value(g getter) any {
	if o.field != "" {
		v, _ := g(o.field)
		return normalize(v)
	}
	return o.lit
}

func (p *filterParser) operand() (operand, error) {
	if p.pos >= len(p.toks) {
		return operand{}, p.fail("unexpected end")
	}
	t := p.toks[p.pos]
	p.pos++
	switch t.kind {
	case "str", "num", "guid", "time":
		return operand{lit: t.val}, nil
	case "ident":
		switch strings.ToLower(t.text) {
		case "null":
			return operand{lit: nil}, nil
		case "true":
			return operand{lit: true}, nil
		case "false":
			return operand{lit: false}, nil
		}
		if !p.known(t.text) {
			return operand{}, &unknownProp{t.text}
		}
		return operand{field: t.text}, nil
	}
	p.pos--
	return operand{}, p.fail("operand expected")
}

type unknownProp struct{ name string }

func (u *unknownProp) Error() string { return "Could not find a property named '" + u.name + "'" }

type cmpNode struct {
	op   string
	l, r operand
}

type funcNode struct {
	fn   string
	l, r operand
}

func (p *filterParser) comparison() (filterNode, error) {
	if p.pos+1 < len(p.toks) && p.toks[p.pos].kind == "ident" && p.toks[p.pos+1].kind == "lp" {
		fn := strings.ToLower(p.toks[p.pos].text)
		switch fn {
		case "contains", "startswith", "endswith":
		default:
			return nil, &unsupportedFunc{p.toks[p.pos].text}
		}
		p.pos += 2
		l, err := p.operand()
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != "comma" {
			return nil, p.fail("',' expected")
		}
		p.pos++
		r, err := p.operand()
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != "rp" {
			return nil, p.fail("')' expected")
		}
		p.pos++
		return funcNode{fn, l, r}, nil
	}
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	if p.pos >= len(p.toks) || p.toks[p.pos].kind != "ident" {
		return nil, p.fail("operator expected")
	}
	op := strings.ToLower(p.toks[p.pos].text)
	switch op {
	case "eq", "ne", "gt", "ge", "lt", "le":
	default:
		return nil, p.fail("unknown operator")
	}
	p.pos++
	r, err := p.operand()
	if err != nil {
		return nil, err
	}
	return cmpNode{op, l, r}, nil
}

// normalize maps stored values to comparable ones.
func normalize(v any) any {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case int:
		return float64(x)
	case Ref:
		return strings.ToLower(x.ID)
	}
	return v
}

// compare returns -1/0/1 and whether the values are comparable.
func compare(a, b any) (int, bool) {
	switch x := a.(type) {
	case float64:
		if y, ok := b.(float64); ok {
			switch {
			case x < y:
				return -1, true
			case x > y:
				return 1, true
			}
			return 0, true
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(strings.ToLower(x), strings.ToLower(y)), true
		}
	case bool:
		if y, ok := b.(bool); ok {
			if x == y {
				return 0, true
			}
			if !x {
				return -1, true
			}
			return 1, true
		}
	case time.Time:
		switch y := b.(type) {
		case time.Time:
			return x.Compare(y), true
		case string:
			if t, err := parseDVTime(y); err == nil {
				return x.Compare(t), true
			}
		}
	}
	return 0, false
}

func (n cmpNode) eval(g getter) bool {
	a, b := n.l.value(g), n.r.value(g)
	if a == nil || b == nil {
		eq := a == nil && b == nil
		switch n.op {
		case "eq":
			return eq
		case "ne":
			return !eq
		}
		return false
	}
	c, ok := compare(a, b)
	if !ok {
		return n.op == "ne"
	}
	switch n.op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	}
	return c <= 0
}

func (n funcNode) eval(g getter) bool {
	a, _ := n.l.value(g).(string)
	b, _ := n.r.value(g).(string)
	a, b = strings.ToLower(a), strings.ToLower(b)
	switch n.fn {
	case "contains":
		return strings.Contains(a, b)
	case "startswith":
		return strings.HasPrefix(a, b)
	}
	return strings.HasSuffix(a, b)
}
