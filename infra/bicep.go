package infra

import (
	"fmt"
	"regexp"
	"strings"
)

// bicepFile is one template: its text and a same-length "code" view in which
// comments are blanked and string contents are replaced by 'x' (quotes and the
// code inside ${...} interpolations kept), so structure can be scanned without
// being fooled by braces in strings. Offsets are shared by Src and Code.
type bicepFile struct {
	Path string
	Src  string
	Code string
}

// parseBicep masks src and checks that (), [] and {} balance and that every
// string and comment is closed.
func parseBicep(path, src string) (*bicepFile, error) {
	code, err := maskBicep(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := checkBalance(code); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &bicepFile{Path: path, Src: src, Code: code}, nil
}

func lineOf(s string, off int) int { return strings.Count(s[:off], "\n") + 1 }

// maskBicep implements the code view described on bicepFile.
func maskBicep(src string) (string, error) {
	b := []byte(src)
	out := make([]byte, len(b))
	copy(out, b)
	const (
		stCode = iota
		stString
	)
	// stack of states; for interpolations we track brace depth in code.
	type frame struct{ state, depth int }
	stack := []frame{{stCode, 0}}
	blank := func(i int) {
		if out[i] != '\n' {
			out[i] = ' '
		}
	}
	for i := 0; i < len(b); i++ {
		top := &stack[len(stack)-1]
		c := b[i]
		switch top.state {
		case stCode:
			switch {
			case c == '/' && i+1 < len(b) && b[i+1] == '/':
				for ; i < len(b) && b[i] != '\n'; i++ {
					blank(i)
				}
			case c == '/' && i+1 < len(b) && b[i+1] == '*':
				start := i
				end := strings.Index(src[i+2:], "*/")
				if end < 0 {
					return "", fmt.Errorf("line %d: unterminated /* comment", lineOf(src, start))
				}
				stop := i + 2 + end + 2
				for ; i < stop; i++ {
					blank(i)
				}
				i--
			case c == '\'' && strings.HasPrefix(src[i:], "'''"):
				start := i
				end := strings.Index(src[i+3:], "'''")
				if end < 0 {
					return "", fmt.Errorf("line %d: unterminated ''' string", lineOf(src, start))
				}
				stop := i + 3 + end
				for i += 3; i < stop; i++ {
					if out[i] != '\n' {
						out[i] = 'x'
					}
				}
				i += 2
			case c == '\'':
				stack = append(stack, frame{stString, 0})
			case c == '{' && len(stack) > 1:
				top.depth++
			case c == '}' && len(stack) > 1:
				if top.depth == 0 { // end of ${...}
					stack = stack[:len(stack)-1]
				} else {
					top.depth--
				}
			}
		case stString:
			switch {
			case c == '\\' && i+1 < len(b):
				out[i], out[i+1] = 'x', 'x'
				i++
			case c == '$' && i+1 < len(b) && b[i+1] == '{':
				out[i] = 'x'
				stack = append(stack, frame{stCode, 0})
				i++ // keep '{' as code; its '}' pops the frame
			case c == '\'':
				stack = stack[:len(stack)-1]
			case c == '\n':
				return "", fmt.Errorf("line %d: string not closed on its line", lineOf(src, i))
			default:
				out[i] = 'x'
			}
		}
	}
	if len(stack) != 1 {
		return "", fmt.Errorf("unterminated string or interpolation at end of file")
	}
	return string(out), nil
}

// checkBalance reports the first unmatched or mismatched bracket in code.
func checkBalance(code string) error {
	pairs := map[byte]byte{')': '(', ']': '[', '}': '{'}
	var stack []int
	for i := 0; i < len(code); i++ {
		switch c := code[i]; c {
		case '(', '[', '{':
			stack = append(stack, i)
		case ')', ']', '}':
			if len(stack) == 0 {
				return fmt.Errorf("line %d: unmatched %q", lineOf(code, i), c)
			}
			open := stack[len(stack)-1]
			if code[open] != pairs[c] {
				return fmt.Errorf("line %d: %q closes %q opened on line %d", lineOf(code, i), c, code[open], lineOf(code, open))
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		open := stack[len(stack)-1]
		return fmt.Errorf("line %d: %q never closed", lineOf(code, open), code[open])
	}
	return nil
}

// matching returns the offset of the bracket closing the one at open.
func (f *bicepFile) matching(open int) int {
	depth := 0
	for i := open; i < len(f.Code); i++ {
		switch f.Code[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// span is a range [Start, End) of one file.
type span struct {
	F          *bicepFile
	Start, End int
}

func (s span) Text() string { return strings.TrimSpace(s.F.Src[s.Start:s.End]) }
func (s span) code() string { return s.F.Code[s.Start:s.End] }

// entry is one "key: value" of an object literal.
type entry struct {
	Key string
	Val span
}

// Object returns the interior of the value when it is an object literal.
func (s span) Object() (span, bool) {
	c := s.code()
	i := strings.IndexFunc(c, func(r rune) bool { return r != ' ' && r != '\t' && r != '\n' && r != '\r' })
	if i < 0 || c[i] != '{' {
		return span{}, false
	}
	open := s.Start + i
	end := s.F.matching(open)
	if end < 0 || end > s.End {
		return span{}, false
	}
	return span{s.F, open + 1, end}, true
}

// Array returns the interior of the value when it is an array literal.
func (s span) Array() (span, bool) {
	c := s.code()
	i := strings.IndexFunc(c, func(r rune) bool { return r != ' ' && r != '\t' && r != '\n' && r != '\r' })
	if i < 0 || c[i] != '[' {
		return span{}, false
	}
	open := s.Start + i
	end := s.F.matching(open)
	if end < 0 || end > s.End {
		return span{}, false
	}
	return span{s.F, open + 1, end}, true
}

// items splits the interior of an object or array at top-level newlines and
// commas.
func (s span) items() []span {
	var out []span
	depth, start := 0, s.Start
	flush := func(end int) {
		if strings.TrimSpace(s.F.Src[start:end]) != "" {
			out = append(out, span{s.F, start, end})
		}
		start = end + 1
	}
	for i := s.Start; i < s.End; i++ {
		switch s.F.Code[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case '\n', ',':
			if depth == 0 {
				flush(i)
			}
		}
	}
	flush(s.End)
	return out
}

var keyRE = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*|'[^']*')\s*:`)

// Entries lists the key/value pairs of an object interior.
func (s span) Entries() []entry {
	var out []entry
	for _, it := range s.items() {
		m := keyRE.FindStringSubmatchIndex(s.F.Code[it.Start:it.End])
		if m == nil {
			continue // spread or malformed; ignored
		}
		key := s.F.Src[it.Start+m[2] : it.Start+m[3]]
		out = append(out, entry{Key: strings.Trim(key, "'"), Val: span{s.F, it.Start + m[1], it.End}})
	}
	return out
}

// Get follows a dotted path of keys through nested object literals.
func (s span) Get(path string) (span, bool) {
	cur := s
	for _, k := range strings.Split(path, ".") {
		found := false
		for _, e := range cur.Entries() {
			if e.Key == k {
				if obj, ok := e.Val.Object(); ok {
					cur = obj
				} else {
					cur = e.Val
				}
				found = true
				break
			}
		}
		if !found {
			return span{}, false
		}
	}
	return cur, true
}

// GetText is Get returning the value's source text ("" when absent).
func (s span) GetText(path string) string {
	v, ok := s.Get(path)
	if !ok {
		return ""
	}
	return v.Text()
}

// Strings returns the string literals of an array interior.
func (s span) Strings() []string {
	var out []string
	for _, it := range s.items() {
		out = append(out, strings.Trim(it.Text(), "'"))
	}
	return out
}

// decl is a resource or module declaration.
type decl struct {
	Kind     string // resource | module
	Symbol   string
	Type     string // resource type without @version, or module path
	Version  string
	Existing bool
	Cond     string // text of if (...), "" when unconditional
	Loop     bool
	LoopSrc  span // the collection of a [for x in <LoopSrc>: ...] loop
	Body     span // object interior
}

var declRE = regexp.MustCompile(`(?m)^[ \t]*(resource|module)[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]+'`)

func (f *bicepFile) decls() []decl {
	var out []decl
	for _, m := range declRE.FindAllStringSubmatchIndex(f.Code, -1) {
		d := decl{Kind: f.Src[m[2]:m[3]], Symbol: f.Src[m[4]:m[5]]}
		q := m[1] // after opening quote
		end := strings.IndexByte(f.Code[q:], '\'')
		if end < 0 {
			continue
		}
		lit := f.Src[q : q+end]
		d.Type, d.Version, _ = strings.Cut(lit, "@")
		if d.Kind == "module" {
			d.Type, d.Version = lit, ""
		}
		i := q + end + 1
		rest := func() string { return strings.TrimLeft(f.Code[i:], " \t\r\n") }
		skip := func() { i += len(f.Code[i:]) - len(rest()) }
		skip()
		if strings.HasPrefix(f.Code[i:], "existing") {
			d.Existing = true
			i += len("existing")
			skip()
		}
		if !strings.HasPrefix(f.Code[i:], "=") {
			continue
		}
		i++
		skip()
		if strings.HasPrefix(f.Code[i:], "[") {
			d.Loop = true
			colon := strings.IndexByte(f.Code[i:], ':')
			if colon < 0 {
				continue
			}
			if in := strings.Index(f.Code[i:i+colon], " in "); in >= 0 {
				d.LoopSrc = span{f, i + in + 4, i + colon}
			}
			i += colon + 1
			skip()
		}
		if strings.HasPrefix(f.Code[i:], "if") {
			open := i + strings.IndexByte(f.Code[i:], '(')
			cl := f.matching(open)
			if cl < 0 {
				continue
			}
			d.Cond = f.Src[open+1 : cl]
			i = cl + 1
			skip()
		}
		if !strings.HasPrefix(f.Code[i:], "{") {
			continue
		}
		cl := f.matching(i)
		if cl < 0 {
			continue
		}
		d.Body = span{f, i + 1, cl}
		out = append(out, d)
	}
	return out
}

// param is a param declaration.
type param struct {
	Name, Type string
	Default    span
	HasDefault bool
}

var paramRE = regexp.MustCompile(`(?m)^[ \t]*param[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]+([A-Za-z_][A-Za-z0-9_\[\]?]*)`)

func (f *bicepFile) params() map[string]param {
	out := map[string]param{}
	for _, m := range paramRE.FindAllStringSubmatchIndex(f.Code, -1) {
		p := param{Name: f.Src[m[2]:m[3]], Type: f.Src[m[4]:m[5]]}
		lineEnd := strings.IndexByte(f.Code[m[1]:], '\n')
		if lineEnd < 0 {
			lineEnd = len(f.Code) - m[1]
		}
		if eq := strings.IndexByte(f.Code[m[1]:m[1]+lineEnd], '='); eq >= 0 {
			p.HasDefault = true
			p.Default = f.valueAt(m[1] + eq + 1)
		}
		out[p.Name] = p
	}
	return out
}

var varRE = regexp.MustCompile(`(?m)^[ \t]*var[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]*=`)

func (f *bicepFile) vars() map[string]span {
	out := map[string]span{}
	for _, m := range varRE.FindAllStringSubmatchIndex(f.Code, -1) {
		out[f.Src[m[2]:m[3]]] = f.valueAt(m[1])
	}
	return out
}

var outputRE = regexp.MustCompile(`(?m)^[ \t]*output[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]`)

func (f *bicepFile) outputs() map[string]bool {
	out := map[string]bool{}
	for _, m := range outputRE.FindAllStringSubmatch(f.Code, -1) {
		out[m[1]] = true
	}
	return out
}

// valueAt returns the expression starting at off and ending at the first
// newline outside brackets.
func (f *bicepFile) valueAt(off int) span {
	depth := 0
	for i := off; i < len(f.Code); i++ {
		switch f.Code[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case '\n':
			if depth == 0 {
				return span{f, off, i}
			}
		}
	}
	return span{f, off, len(f.Code)}
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
