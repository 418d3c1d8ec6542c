package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Filter limits. A filter longer than MaxFilterLength bytes or nested deeper
// than MaxFilterDepth is rejected before any work is done for it.
const (
	MaxFilterLength = 2048
	MaxFilterDepth  = 16
	maxFilterTerms  = 64
)

// Op is a SCIM comparison operator (RFC 7644 §3.4.2.2).
type Op string

// Comparison operators.
const (
	OpEq Op = "eq"
	OpNe Op = "ne"
	OpCo Op = "co"
	OpSw Op = "sw"
	OpEw Op = "ew"
	OpPr Op = "pr"
	OpGt Op = "gt"
	OpGe Op = "ge"
	OpLt Op = "lt"
	OpLe Op = "le"
)

// Attr names a filterable attribute. Only these attributes may appear in a
// filter; anything else is an invalidFilter error.
type Attr string

// Filterable attributes. The Email* attributes are only valid inside an
// [EmailMatch] and the Member attribute only inside a [MemberMatch]; the
// parser puts them there, also for the dotted forms "emails.value" and
// "members.value".
const (
	AttrID           Attr = "id"
	AttrExternalID   Attr = "externalId"
	AttrUserName     Attr = "userName"
	AttrDisplayName  Attr = "displayName"
	AttrActive       Attr = "active"
	AttrGivenName    Attr = "name.givenName"
	AttrFamilyName   Attr = "name.familyName"
	AttrLastModified Attr = "meta.lastModified"
	AttrEmailValue   Attr = "emails.value"
	AttrEmailType    Attr = "emails.type"
	AttrEmailPrimary Attr = "emails.primary"
	AttrMemberValue  Attr = "members.value"

	// Attributes of the enterprise User extension, always named with its
	// URN.
	AttrEmployeeNumber Attr = enterpriseSchema + ":employeeNumber"
	AttrCostCenter     Attr = enterpriseSchema + ":costCenter"
	AttrOrganization   Attr = enterpriseSchema + ":organization"
	AttrDivision       Attr = enterpriseSchema + ":division"
	AttrDepartment     Attr = enterpriseSchema + ":department"
	AttrManagerValue   Attr = enterpriseSchema + ":manager.value"
)

// CaseExact reports whether comparisons on a are case-sensitive. For the
// others both the stored value and the compared value are lower-cased with
// strings.ToLower, the same way in every store.
func (a Attr) CaseExact() bool {
	return a == AttrID || a == AttrExternalID || a == AttrMemberValue || a == AttrManagerValue
}

// Expr is a parsed filter: one of *Compare, *And, *Or, *Not, *EmailMatch,
// *MemberMatch.
type Expr interface{ expr() }

// Compare is "Attr Op Value". Str holds string operands (already
// lower-cased when the attribute is not case-exact), Bool boolean operands
// and Time meta.lastModified operands. Op pr has no operand.
type Compare struct {
	Attr Attr
	Op   Op
	Str  string
	Bool bool
	Time time.Time
}

// And matches when both sides match.
type And struct{ Left, Right Expr }

// Or matches when either side matches.
type Or struct{ Left, Right Expr }

// Not matches when X does not.
type Not struct{ X Expr }

// EmailMatch matches a user with at least one email satisfying X, whose
// comparisons use the Email* attributes.
type EmailMatch struct{ X Expr }

// MemberMatch matches a group with at least one member satisfying X, whose
// comparisons use AttrMemberValue.
type MemberMatch struct{ X Expr }

func (*Compare) expr()     {}
func (*And) expr()         {}
func (*Or) expr()          {}
func (*Not) expr()         {}
func (*EmailMatch) expr()  {}
func (*MemberMatch) expr() {}

// ResourceKind selects the attribute set a filter is checked against.
type ResourceKind int

// Resource kinds.
const (
	KindUser ResourceKind = iota + 1
	KindGroup
	// kindValue parses the filter of a PATCH value path: any simple
	// sub-attribute name, compared case-insensitively with the element's
	// value rendered as text.
	kindValue
)

// ErrInvalidFilter is wrapped by every filter parse error.
var ErrInvalidFilter = errors.New("scim: invalid filter")

type filterError struct{ msg string }

func (e *filterError) Error() string { return "scim: invalid filter: " + e.msg }
func (e *filterError) Unwrap() error { return ErrInvalidFilter }

func ferr(format string, a ...any) error { return &filterError{msg: fmt.Sprintf(format, a...)} }

// ParseFilter parses a SCIM filter for resources of kind k. It accepts only
// the attributes listed as Attr constants (attribute names are matched
// case-insensitively, with or without the core schema URN), rejects filters
// longer than MaxFilterLength or nested deeper than MaxFilterDepth, and
// returns errors wrapping ErrInvalidFilter.
func ParseFilter(s string, k ResourceKind) (Expr, error) {
	p := &parser{src: s, kind: k}
	return p.parse()
}

// parseMemberFilter parses the value filter of a Group PATCH path
// members[...] (Okta removes members with members[value eq "id"]). Its
// comparisons name the member's value, a user ID, which is case-exact as
// in a Group filter: a value filter of a User path compares lower-cased
// text instead.
func parseMemberFilter(s string) (Expr, error) {
	p := &parser{src: s, kind: KindGroup, inValue: "members"}
	return p.parse()
}

// parse parses the whole of p.src.
func (p *parser) parse() (Expr, error) {
	if len(p.src) > MaxFilterLength {
		return nil, ferr("longer than %d bytes", MaxFilterLength)
	}
	if !utf8.ValidString(p.src) {
		return nil, ferr("not UTF-8")
	}
	if err := p.lex(); err != nil {
		return nil, err
	}
	if len(p.toks) == 0 {
		return nil, ferr("empty")
	}
	e, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, ferr("unexpected %q", p.toks[p.pos].text)
	}
	return e, nil
}

type tokKind int

const (
	tWord tokKind = iota
	tString
	tLParen
	tRParen
	tLBrack
	tRBrack
)

type token struct {
	kind tokKind
	text string // word text, or decoded string literal
	sub  string // for tRBrack: a ".sub" suffix directly after ']'
}

type parser struct {
	src   string
	kind  ResourceKind
	toks  []token
	pos   int
	terms int
	// inValue is the multi-valued attribute whose [...] filter is being
	// parsed ("emails" or "members"), or "".
	inValue string
	// root admits attributes of the other resource type, as absent ones
	// (see parseRootFilter).
	root bool
}

func (p *parser) lex() error {
	s := p.src
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			p.toks = append(p.toks, token{kind: tLParen, text: "("})
			i++
		case c == ')':
			p.toks = append(p.toks, token{kind: tRParen, text: ")"})
			i++
		case c == '[':
			p.toks = append(p.toks, token{kind: tLBrack, text: "["})
			i++
		case c == ']':
			i++
			t := token{kind: tRBrack, text: "]"}
			if i < len(s) && s[i] == '.' {
				j := i + 1
				for j < len(s) && isNameChar(s[j]) {
					j++
				}
				if j == i+1 {
					return ferr("missing sub-attribute after ].")
				}
				t.sub = s[i+1 : j]
				i = j
			}
			p.toks = append(p.toks, t)
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return ferr("unterminated string")
			}
			v, ok := unquoteJSON(s[i+1 : j])
			if !ok {
				return ferr("bad string literal")
			}
			p.toks = append(p.toks, token{kind: tString, text: v})
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n()[]\"", rune(s[j])) {
				j++
			}
			p.toks = append(p.toks, token{kind: tWord, text: s[i:j]})
			i = j
		}
		if len(p.toks) > 4*maxFilterTerms {
			return ferr("too many terms")
		}
	}
	return nil
}

func unquoteJSON(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 {
			return "", false // JSON strings have no raw control characters
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return "", false
		}
		switch s[i] {
		case '"', '\\', '/':
			b.WriteByte(s[i])
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			r, ok := hex4([]byte(s), i+1)
			if !ok || r == 0 {
				return "", false
			}
			i += 4
			switch {
			case r >= 0xDC00 && r <= 0xDFFF:
				return "", false // a low surrogate without its high half
			case r >= 0xD800 && r <= 0xDBFF:
				// Only a surrogate pair is a character; a lone half would
				// become U+FFFD.
				if i+2 >= len(s) || s[i+1] != '\\' || s[i+2] != 'u' {
					return "", false
				}
				lo, ok := hex4([]byte(s), i+3)
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return "", false
				}
				r = utf16.DecodeRune(r, lo)
				i += 6
			}
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	return b.String(), true
}

func isNameChar(c byte) bool {
	return c == '_' || c == '-' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func (p *parser) peek() *token {
	if p.pos < len(p.toks) {
		return &p.toks[p.pos]
	}
	return nil
}

func (p *parser) keyword(w string) bool {
	t := p.peek()
	if t != nil && t.kind == tWord && strings.EqualFold(t.text, w) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) parseOr(depth int) (Expr, error) {
	l, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		r, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		l = &Or{Left: l, Right: r}
	}
	return l, nil
}

func (p *parser) parseAnd(depth int) (Expr, error) {
	l, err := p.parseUnary(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		r, err := p.parseUnary(depth)
		if err != nil {
			return nil, err
		}
		l = &And{Left: l, Right: r}
	}
	return l, nil
}

func (p *parser) parseUnary(depth int) (Expr, error) {
	if depth > MaxFilterDepth {
		return nil, ferr("nested deeper than %d", MaxFilterDepth)
	}
	t := p.peek()
	if t == nil {
		return nil, ferr("unexpected end")
	}
	if t.kind == tWord && strings.EqualFold(t.text, "not") {
		p.pos++
		if n := p.peek(); n == nil || n.kind != tLParen {
			return nil, ferr("not must be followed by (")
		}
		x, err := p.parseUnary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	}
	if t.kind == tLParen {
		p.pos++
		x, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if n := p.peek(); n == nil || n.kind != tRParen {
			return nil, ferr("missing )")
		}
		p.pos++
		return x, nil
	}
	if t.kind != tWord {
		return nil, ferr("unexpected %q", t.text)
	}
	p.terms++
	if p.terms > maxFilterTerms {
		return nil, ferr("more than %d comparisons", maxFilterTerms)
	}
	p.pos++
	name := t.text
	if p.root && p.inValue == "" {
		return p.parseTermEither(name, depth)
	}
	return p.parseTerm(name, depth)
}

// parseTerm parses a comparison or a value path whose attribute is name.
func (p *parser) parseTerm(name string, depth int) (Expr, error) {
	if n := p.peek(); n != nil && n.kind == tLBrack {
		return p.parseValuePath(name, depth)
	}
	return p.parseCompare(name)
}

func (p *parser) parseValuePath(name string, depth int) (Expr, error) {
	if p.inValue != "" || p.kind == kindValue {
		return nil, ferr("nested value filter")
	}
	base := strings.ToLower(stripURN(name, p.kind))
	if (p.kind == KindUser && base != "emails") || (p.kind == KindGroup && base != "members") {
		return nil, ferr("unknown multi-valued attribute %q", name)
	}
	p.pos++ // [
	p.inValue = base
	x, err := p.parseOr(depth + 1)
	p.inValue = ""
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if t == nil || t.kind != tRBrack {
		return nil, ferr("missing ]")
	}
	p.pos++
	if t.sub != "" {
		// Entra matches users by 'emails[type eq "work"].value eq "x"':
		// the comparison after "]." applies to the same value as the
		// bracketed filter, as in 'emails[type eq "work" and value eq "x"]'.
		if x, err = p.parseSubCompare(base, t.sub, x); err != nil {
			return nil, err
		}
	}
	if base == "emails" {
		return &EmailMatch{X: x}, nil
	}
	return &MemberMatch{X: x}, nil
}

// parseSubCompare parses the comparison that follows "attr[filter].sub"
// and returns it joined to the bracketed filter x.
func (p *parser) parseSubCompare(base, sub string, x Expr) (Expr, error) {
	p.terms++
	if p.terms > maxFilterTerms {
		return nil, ferr("more than %d comparisons", maxFilterTerms)
	}
	p.inValue = base
	c, err := p.parseCompare(sub)
	p.inValue = ""
	if err != nil {
		return nil, err
	}
	return &And{Left: x, Right: c}, nil
}

func (p *parser) parseCompare(name string) (Expr, error) {
	attr, multi, err := p.resolve(name)
	if err != nil {
		return nil, err
	}
	ot := p.peek()
	if ot == nil || ot.kind != tWord {
		return nil, ferr("missing operator after %q", name)
	}
	op := Op(strings.ToLower(ot.text))
	p.pos++
	c := &Compare{Attr: attr, Op: op}
	switch op {
	case OpPr:
	case OpEq, OpNe, OpCo, OpSw, OpEw, OpGt, OpGe, OpLt, OpLe:
		vt := p.peek()
		if vt == nil || vt.kind == tLParen || vt.kind == tRParen || vt.kind == tLBrack || vt.kind == tRBrack {
			return nil, ferr("missing value for %q", name)
		}
		p.pos++
		if err := setValue(c, vt, p.kind); err != nil {
			return nil, err
		}
	default:
		return nil, ferr("unknown operator %q", ot.text)
	}
	if p.kind == kindValue {
		if op == OpGt || op == OpGe || op == OpLt || op == OpLe {
			return nil, ferr("operator %s not supported in a value path", op)
		}
		return c, nil
	}
	if err := checkOp(c); err != nil {
		return nil, err
	}
	if multi == "" {
		return c, nil
	}
	// A dotted multi-valued attribute outside brackets: "emails.value eq x"
	// means "some email's value equals x"; "ne" means "no email's value
	// equals x".
	wrap := func(x Expr) Expr {
		if multi == "emails" {
			return &EmailMatch{X: x}
		}
		return &MemberMatch{X: x}
	}
	if c.Op == OpNe {
		c.Op = OpEq
		return &Not{X: wrap(c)}, nil
	}
	return wrap(c), nil
}

// resolve maps an attribute path of the filter to an Attr. multi is the
// multi-valued parent ("emails", "members") when the path is a dotted form
// outside brackets.
func (p *parser) resolve(name string) (Attr, string, error) {
	if p.kind == kindValue {
		if name == "" || len(name) > 64 || strings.ContainsAny(name, ".:") {
			return "", "", ferr("unsupported attribute %q", name)
		}
		for i := 0; i < len(name); i++ {
			if !isNameChar(name[i]) {
				return "", "", ferr("unsupported attribute %q", name)
			}
		}
		return Attr(strings.ToLower(name)), "", nil
	}
	n := strings.ToLower(stripURN(name, p.kind))
	if p.inValue != "" {
		n = p.inValue + "." + strings.TrimPrefix(n, p.inValue+".")
	}
	var a Attr
	if p.kind == KindUser && p.inValue == "" {
		a = enterpriseAttr(name)
	}
	if a != "" {
		return a, "", nil
	}
	if p.kind == KindUser {
		switch n {
		case "id":
			a = AttrID
		case "externalid":
			a = AttrExternalID
		case "username":
			a = AttrUserName
		case "displayname":
			a = AttrDisplayName
		case "active":
			a = AttrActive
		case "name.givenname":
			a = AttrGivenName
		case "name.familyname":
			a = AttrFamilyName
		case "meta.lastmodified":
			a = AttrLastModified
		case "emails", "emails.value":
			a = AttrEmailValue
		case "emails.type":
			a = AttrEmailType
		case "emails.primary":
			a = AttrEmailPrimary
		}
	} else {
		switch n {
		case "id":
			a = AttrID
		case "externalid":
			a = AttrExternalID
		case "displayname":
			a = AttrDisplayName
		case "meta.lastmodified":
			a = AttrLastModified
		case "members", "members.value":
			a = AttrMemberValue
		}
	}
	if a == "" {
		return "", "", ferr("unsupported attribute %q", name)
	}
	multi := ""
	if strings.HasPrefix(string(a), "emails.") || a == AttrMemberValue {
		if p.inValue == "" {
			multi = strings.SplitN(string(a), ".", 2)[0]
		}
	} else if p.inValue != "" {
		return "", "", ferr("unsupported attribute %q", name)
	}
	return a, multi, nil
}

// enterpriseAttr maps a URN-qualified attribute of the enterprise User
// extension to its Attr, or returns "".
func enterpriseAttr(name string) Attr {
	if len(name) <= len(enterpriseSchema) || name[len(enterpriseSchema)] != ':' || !strings.EqualFold(name[:len(enterpriseSchema)], enterpriseSchema) {
		return ""
	}
	switch strings.ToLower(name[len(enterpriseSchema)+1:]) {
	case "employeenumber":
		return AttrEmployeeNumber
	case "costcenter":
		return AttrCostCenter
	case "organization":
		return AttrOrganization
	case "division":
		return AttrDivision
	case "department":
		return AttrDepartment
	case "manager", "manager.value":
		return AttrManagerValue
	}
	return ""
}

func stripURN(name string, k ResourceKind) string {
	for _, u := range []string{userSchema + ":", groupSchema + ":"} {
		if len(name) > len(u) && strings.EqualFold(name[:len(u)], u) {
			return name[len(u):]
		}
	}
	return name
}

func setValue(c *Compare, t *token, k ResourceKind) error {
	if k == kindValue {
		c.Str = strings.ToLower(t.text)
		return nil
	}
	switch c.Attr {
	case AttrActive, AttrEmailPrimary:
		s := t.text
		switch {
		case strings.EqualFold(s, "true"):
			c.Bool = true
		case strings.EqualFold(s, "false"):
			c.Bool = false
		default:
			return ferr("%s needs true or false", c.Attr)
		}
		return nil
	case AttrLastModified:
		if t.kind != tString {
			return ferr("%s needs a quoted date-time", c.Attr)
		}
		tm, err := time.Parse(time.RFC3339Nano, t.text)
		if err != nil {
			return ferr("%s needs an RFC 3339 date-time", c.Attr)
		}
		c.Time = tm.UTC()
		return nil
	}
	if t.kind != tString {
		return ferr("%s needs a quoted string", c.Attr)
	}
	c.Str = t.text
	if !c.Attr.CaseExact() {
		c.Str = strings.ToLower(c.Str)
	}
	return nil
}

func checkOp(c *Compare) error {
	switch c.Attr {
	case AttrActive, AttrEmailPrimary:
		if c.Op != OpEq && c.Op != OpNe && c.Op != OpPr {
			return ferr("operator %s not allowed on boolean %s", c.Op, c.Attr)
		}
	case AttrLastModified:
		if c.Op == OpCo || c.Op == OpSw || c.Op == OpEw {
			return ferr("operator %s not allowed on date-time %s", c.Op, c.Attr)
		}
	default:
		if c.Op == OpGt || c.Op == OpGe || c.Op == OpLt || c.Op == OpLe {
			return ferr("operator %s not allowed on string %s", c.Op, c.Attr)
		}
	}
	return nil
}

// String renders e in SCIM filter syntax (used in tests and logs).
func String(e Expr) string {
	switch x := e.(type) {
	case *Compare:
		s := string(x.Attr) + " " + string(x.Op)
		switch {
		case x.Op == OpPr:
		case x.Attr == AttrActive || x.Attr == AttrEmailPrimary:
			s += " " + strconv.FormatBool(x.Bool)
		case x.Attr == AttrLastModified:
			s += " " + jsonQuote(x.Time.Format(time.RFC3339Nano))
		default:
			s += " " + jsonQuote(x.Str)
		}
		return s
	case *And:
		return "(" + String(x.Left) + " and " + String(x.Right) + ")"
	case *Or:
		return "(" + String(x.Left) + " or " + String(x.Right) + ")"
	case *Not:
		return "not (" + String(x.X) + ")"
	case *EmailMatch:
		return "emails[" + String(x.X) + "]"
	case *MemberMatch:
		return "members[" + String(x.X) + "]"
	}
	return ""
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
