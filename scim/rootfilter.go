package scim

// A search over every resource type (POST /.search, RFC 7644 §3.4.3)
// applies one filter to Users and to Groups. An attribute that only one
// of them has is absent on the other (RFC 7644 §3.4.2): a comparison on
// it matches as a comparison with an absent value does ("ne" true,
// anything else false), instead of failing the search.

// constExpr is a filter term whose value is known while parsing. It never
// reaches a store: parseRootFilter folds it away.
type constExpr bool

func (constExpr) expr() {}

// parseTermEither parses a term for the parser's resource type, or else
// as a term of the other resource type, which is then absent.
func (p *parser) parseTermEither(name string, depth int) (Expr, error) {
	pos, terms := p.pos, p.terms
	x, err := p.parseTerm(name, depth)
	if err == nil {
		return x, nil
	}
	own := p.kind
	p.pos, p.terms, p.kind = pos, terms, otherKind(own)
	y, err2 := p.parseTerm(name, depth)
	p.kind, p.inValue = own, ""
	if err2 != nil {
		return nil, err
	}
	return constExpr(matchesAbsent(y)), nil
}

func otherKind(k ResourceKind) ResourceKind {
	if k == KindUser {
		return KindGroup
	}
	return KindUser
}

// matchesAbsent reports whether e matches a resource on which every
// attribute e names is absent.
func matchesAbsent(e Expr) bool {
	switch x := e.(type) {
	case *Compare:
		return x.Op == OpNe
	case *Not:
		return !matchesAbsent(x.X)
	case *And:
		return matchesAbsent(x.Left) && matchesAbsent(x.Right)
	case *Or:
		return matchesAbsent(x.Left) || matchesAbsent(x.Right)
	case constExpr:
		return bool(x)
	}
	return false // a value path: no value is there to match
}

// parseRootFilter parses the filter of a search over every resource type
// for resources of kind k. It fails only when the filter is invalid for
// both resource types (an attribute of neither, a bad operand). none
// reports that no resource of kind k can match; otherwise e is the filter
// to apply, nil when every resource matches.
func parseRootFilter(s string, k ResourceKind) (e Expr, none bool, err error) {
	p := &parser{src: s, kind: k, root: true}
	e, err = p.parse()
	if err != nil {
		return nil, false, err
	}
	e, c := fold(e)
	if c != nil {
		return nil, !*c, nil
	}
	return e, false, nil
}

// fold removes constant terms from e. When e as a whole is constant it
// returns its value.
func fold(e Expr) (Expr, *bool) {
	switch x := e.(type) {
	case constExpr:
		v := bool(x)
		return nil, &v
	case *Not:
		y, c := fold(x.X)
		if c != nil {
			v := !*c
			return nil, &v
		}
		return &Not{X: y}, nil
	case *And:
		l, lc := fold(x.Left)
		r, rc := fold(x.Right)
		switch {
		case lc != nil && !*lc, rc != nil && !*rc:
			v := false
			return nil, &v
		case lc != nil && rc != nil:
			v := true
			return nil, &v
		case lc != nil:
			return r, nil
		case rc != nil:
			return l, nil
		}
		return &And{Left: l, Right: r}, nil
	case *Or:
		l, lc := fold(x.Left)
		r, rc := fold(x.Right)
		switch {
		case lc != nil && *lc, rc != nil && *rc:
			v := true
			return nil, &v
		case lc != nil && rc != nil:
			v := false
			return nil, &v
		case lc != nil:
			return r, nil
		case rc != nil:
			return l, nil
		}
		return &Or{Left: l, Right: r}, nil
	}
	return e, nil
}
