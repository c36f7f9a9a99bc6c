package authz

import (
	"fmt"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/parser"
	"github.com/atrium-portal/atrium/internal/catalog"
)

// The attributes a condition may read. Principal attributes are known when
// a request is authorized; resource attributes become catalog filters.
var (
	principalAttrs = []string{"ref", "type", "ownershipRefs", "groups", "claims", "scopes", "via"}
	resourceAttrs  = []string{"kind", "namespace", "name", "title", "description", "owner", "tags", "labels", "annotations", "spec"}
)

// maxConditionBytes bounds the source of one condition.
const maxConditionBytes = 4096

// newEnv returns the CEL environment conditions are compiled in.
func newEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("principal", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("resource", cel.MapType(cel.StringType, cel.DynType)),
		// Macro calls are kept so that exists() can be recognised and
		// principal-only parts printed back to CEL.
		cel.EnableMacroCallTracking(),
	)
}

// conditionError is a problem in a condition, at a line and column within
// its source (1-based line, 0-based column, as CEL reports them).
type conditionError struct {
	Line, Column int
	Message      string
}

func (e *conditionError) Error() string {
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Column+1, e.Message)
}

// compiler turns a CEL condition into a condition tree.
type compiler struct {
	env  *cel.Env
	info *ast.SourceInfo
	// entity says resource attributes may be used (the permission's
	// conditions are evaluated against catalog entities).
	entity bool
}

// compileCondition parses and checks src and turns it into a condition
// tree; entity says whether src may read `resource`.
func compileCondition(env *cel.Env, src string, entity bool) (*condNode, error) {
	if len(src) > maxConditionBytes {
		return nil, &conditionError{Line: 1, Message: fmt.Sprintf("condition is longer than %d bytes", maxConditionBytes)}
	}
	checked, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		e := iss.Errors()[0]
		return nil, &conditionError{Line: e.Location.Line(), Column: e.Location.Column(), Message: e.Message}
	}
	if !checked.OutputType().IsExactType(cel.BoolType) && !checked.OutputType().IsExactType(cel.DynType) {
		return nil, &conditionError{Line: 1, Message: fmt.Sprintf("condition must be a boolean, got %s", checked.OutputType())}
	}
	native := checked.NativeRep()
	c := &compiler{env: env, info: native.SourceInfo(), entity: entity}
	return c.boolean(native.Expr(), nil)
}

func (c *compiler) fail(e ast.Expr, format string, args ...any) error {
	loc := c.info.GetStartLocation(e.ID())
	return &conditionError{Line: loc.Line(), Column: loc.Column(), Message: fmt.Sprintf(format, args...)}
}

// boolean compiles a boolean expression. iter, inside an exists() over a
// resource list, is that list's filter key and the iteration variable.
func (c *compiler) boolean(e ast.Expr, iter *iterVar) (*condNode, error) {
	if err := c.checkPrincipal(e); err != nil {
		return nil, err
	}
	if !c.usesResource(e, iter) {
		prog, err := c.constant(e)
		if err != nil {
			return nil, err
		}
		return &condNode{op: nodeConst, prog: prog}, nil
	}
	if !c.entity {
		return nil, c.fail(e, "this permission has no catalog entity to test, so the condition may not use resource")
	}
	switch e.Kind() {
	case ast.CallKind:
		return c.call(e, iter)
	case ast.SelectKind:
		if sel := e.AsSelect(); sel.IsTestOnly() {
			var key string
			var err error
			if op := sel.Operand(); op.Kind() == ast.IdentKind && op.AsIdent() == "resource" {
				key, _, err = c.resourceAttr(e, sel.FieldName())
			} else {
				var kind pathKind
				if key, kind, err = c.path(op, iter); err == nil {
					key, _, err = c.child(e, key, kind, sel.FieldName())
				}
			}
			if err != nil {
				return nil, err
			}
			return &condNode{op: nodeLeaf, key: key, match: catalog.MatchExists}, nil
		}
	case ast.ComprehensionKind:
		return c.exists(e)
	}
	return nil, c.fail(e, "this use of resource cannot become a catalog filter; use ==, !=, in, has(), startsWith(), exists() over a list, &&, || and !")
}

func (c *compiler) call(e ast.Expr, iter *iterVar) (*condNode, error) {
	call := e.AsCall()
	args := call.Args()
	switch call.FunctionName() {
	case operators.LogicalAnd, operators.LogicalOr:
		op := nodeAnd
		if call.FunctionName() == operators.LogicalOr {
			op = nodeOr
		}
		n := &condNode{op: op}
		for _, a := range args {
			k, err := c.boolean(a, iter)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, k)
		}
		return n, nil
	case operators.LogicalNot:
		k, err := c.boolean(args[0], iter)
		if err != nil {
			return nil, err
		}
		return &condNode{op: nodeNot, kids: []*condNode{k}}, nil
	case operators.Equals, operators.NotEquals:
		res, other := args[0], args[1]
		if !c.usesResource(res, iter) {
			res, other = other, res
		}
		if c.usesResource(other, iter) {
			return nil, c.fail(e, "compare a resource attribute with a value that does not depend on resource")
		}
		key, _, err := c.path(res, iter)
		if err != nil {
			return nil, err
		}
		val, err := c.value(other, false)
		if err != nil {
			return nil, err
		}
		n := &condNode{op: nodeLeaf, key: key, match: catalog.MatchIn, val: val}
		if call.FunctionName() == operators.NotEquals {
			n = &condNode{op: nodeNot, kids: []*condNode{n}}
		}
		return n, nil
	case operators.In:
		elem, coll := args[0], args[1]
		switch {
		case c.usesResource(elem, iter) && !c.usesResource(coll, iter):
			// resource.owner in principal.ownershipRefs
			key, _, err := c.path(elem, iter)
			if err != nil {
				return nil, err
			}
			val, err := c.value(coll, true)
			if err != nil {
				return nil, err
			}
			return &condNode{op: nodeLeaf, key: key, match: catalog.MatchIn, val: val}, nil
		case !c.usesResource(elem, iter) && c.usesResource(coll, iter):
			// "java" in resource.tags; "team" in resource.labels
			key, kind, err := c.path(coll, iter)
			if err != nil {
				return nil, err
			}
			val, err := c.value(elem, false)
			if err != nil {
				return nil, err
			}
			if kind == pathList {
				return &condNode{op: nodeLeaf, key: key, match: catalog.MatchIn, val: val}, nil
			}
			if kind == pathScalar {
				return nil, c.fail(e, "%s is a single value; use == to compare it", key)
			}
			return &condNode{op: nodeLeaf, key: key, match: catalog.MatchExists, val: val, keyFromValue: true}, nil
		}
		return nil, c.fail(e, "in needs a resource attribute on exactly one side")
	case overloadStartsWith:
		if call.Target() == nil || !c.usesResource(call.Target(), iter) || c.usesResource(args[0], iter) {
			return nil, c.fail(e, "use resource.<attribute>.startsWith(value)")
		}
		key, _, err := c.path(call.Target(), iter)
		if err != nil {
			return nil, err
		}
		val, err := c.value(args[0], false)
		if err != nil {
			return nil, err
		}
		return &condNode{op: nodeLeaf, key: key, match: catalog.MatchPrefix, val: val}, nil
	}
	return nil, c.fail(e, "%s over resource attributes cannot become a catalog filter; use ==, !=, in, has(), startsWith(), exists() over a list, &&, || and !", displayName(call.FunctionName()))
}

const overloadStartsWith = "startsWith"

func displayName(fn string) string {
	if s, ok := operators.FindReverse(fn); ok {
		return s
	}
	return fn + "()"
}

// iterVar is the variable of an exists() over a resource list.
type iterVar struct {
	name string
	key  string
}

// exists compiles resource.<list>.exists(x, <predicate over x>) where the
// predicate is x == v, x in v, x.startsWith(v), or an || of those.
func (c *compiler) exists(e ast.Expr) (*condNode, error) {
	comp := e.AsComprehension()
	macro, ok := c.info.MacroCalls()[e.ID()]
	if !ok || macro.Kind() != ast.CallKind || macro.AsCall().FunctionName() != "exists" || comp.HasIterVar2() {
		return nil, c.fail(e, "only exists() over a resource list can become a catalog filter")
	}
	key, kind, err := c.path(comp.IterRange(), nil)
	if err != nil {
		return nil, err
	}
	if kind == pathScalar {
		return nil, c.fail(e, "exists() needs a list, and %s is a single value", key)
	}
	step := comp.LoopStep()
	if step.Kind() != ast.CallKind || step.AsCall().FunctionName() != operators.LogicalOr || len(step.AsCall().Args()) != 2 {
		return nil, c.fail(e, "unexpected form of exists()")
	}
	iter := &iterVar{name: comp.IterVar(), key: key}
	return c.existsPredicate(step.AsCall().Args()[1], iter)
}

func (c *compiler) existsPredicate(e ast.Expr, iter *iterVar) (*condNode, error) {
	if e.Kind() == ast.CallKind && e.AsCall().FunctionName() == operators.LogicalOr {
		n := &condNode{op: nodeOr}
		for _, a := range e.AsCall().Args() {
			k, err := c.existsPredicate(a, iter)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, k)
		}
		return n, nil
	}
	if e.Kind() == ast.CallKind {
		switch e.AsCall().FunctionName() {
		case operators.Equals, operators.In, overloadStartsWith:
			n, err := c.call(e, iter)
			if err != nil {
				return nil, err
			}
			if n.op == nodeLeaf && n.key == iter.key && !n.keyFromValue {
				return n, nil
			}
		}
	}
	return nil, c.fail(e, "inside exists() over a resource list, test the item with ==, in or startsWith(), joined by ||")
}

// The shapes of resource attributes.
type pathKind int

const (
	pathScalar pathKind = iota // one value: kind, name, owner...
	pathList                   // a list of values: tags
	pathMap                    // keys with values: labels, annotations
	pathAny                    // a spec field: a value, a list or an object
)

// path returns the catalog filter key of a resource attribute expression
// and its shape.
func (c *compiler) path(e ast.Expr, iter *iterVar) (string, pathKind, error) {
	switch e.Kind() {
	case ast.IdentKind:
		if iter != nil && e.AsIdent() == iter.name {
			return iter.key, pathScalar, nil
		}
	case ast.SelectKind:
		sel := e.AsSelect()
		if sel.IsTestOnly() {
			break
		}
		if sel.Operand().Kind() == ast.IdentKind && sel.Operand().AsIdent() == "resource" {
			return c.resourceAttr(e, sel.FieldName())
		}
		key, kind, err := c.path(sel.Operand(), iter)
		if err != nil {
			return "", 0, err
		}
		return c.child(e, key, kind, sel.FieldName())
	case ast.CallKind:
		call := e.AsCall()
		if call.FunctionName() == operators.Index && len(call.Args()) == 2 {
			key, kind, err := c.path(call.Args()[0], iter)
			if err != nil {
				return "", 0, err
			}
			idx := call.Args()[1]
			if idx.Kind() != ast.LiteralKind {
				return "", 0, c.fail(idx, "index resource attributes with a literal string")
			}
			s, ok := idx.AsLiteral().Value().(string)
			if !ok {
				return "", 0, c.fail(idx, "index resource attributes with a literal string")
			}
			return c.child(e, key, kind, s)
		}
	}
	return "", 0, c.fail(e, "expected a resource attribute such as resource.kind, resource.owner, resource.labels[\"key\"] or resource.spec.type")
}

func (c *compiler) resourceAttr(e ast.Expr, name string) (string, pathKind, error) {
	switch name {
	case "kind":
		return "kind", pathScalar, nil
	case "namespace", "name", "title", "description":
		return "metadata." + name, pathScalar, nil
	case "owner":
		return "relations.ownedby", pathScalar, nil
	case "tags":
		return "metadata.tags", pathList, nil
	case "labels", "annotations":
		return "metadata." + name, pathMap, nil
	case "spec":
		return "spec", pathMap, nil
	}
	return "", 0, c.fail(e, "resource has no attribute %q (it has %s)", name, strings.Join(resourceAttrs, ", "))
}

func (c *compiler) child(e ast.Expr, key string, kind pathKind, field string) (string, pathKind, error) {
	if kind == pathScalar || kind == pathList {
		return "", 0, c.fail(e, "%s has no fields", key)
	}
	if field == "" {
		return "", 0, c.fail(e, "empty key")
	}
	next := pathAny
	if kind == pathMap && key != "spec" {
		next = pathScalar // label and annotation values are strings
	}
	return childKey(key, field), next, nil
}

func childKey(key, field string) string {
	if key == "relations.ownedby" {
		return key
	}
	return key + "." + strings.ToLower(field)
}

// value compiles an expression that does not read resource into a program
// giving one string, or (list) a list of strings.
func (c *compiler) value(e ast.Expr, list bool) (*valueSource, error) {
	if e.Kind() == ast.LiteralKind {
		if s, ok := e.AsLiteral().Value().(string); ok && !list {
			return &valueSource{literal: []string{s}}, nil
		}
	}
	if e.Kind() == ast.ListKind && list {
		var lits []string
		for _, el := range e.AsList().Elements() {
			s, ok := literalString(el)
			if !ok {
				lits = nil
				break
			}
			lits = append(lits, s)
		}
		if lits != nil || len(e.AsList().Elements()) == 0 {
			return &valueSource{literal: lits, isList: true}, nil
		}
	}
	prog, err := c.constant(e)
	if err != nil {
		return nil, err
	}
	return &valueSource{prog: prog, isList: list}, nil
}

func literalString(e ast.Expr) (string, bool) {
	if e.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().Value().(string)
	return s, ok
}

// constant compiles an expression over principal only into its own program.
func (c *compiler) constant(e ast.Expr) (cel.Program, error) {
	src, err := parser.Unparse(e, c.info)
	if err != nil {
		return nil, c.fail(e, "cannot compile: %v", err)
	}
	checked, iss := c.env.Compile(src)
	if iss != nil && iss.Err() != nil {
		return nil, c.fail(e, "%s", iss.Errors()[0].Message)
	}
	prog, err := c.env.Program(checked, cel.CostLimit(maxEvalCost))
	if err != nil {
		return nil, c.fail(e, "%v", err)
	}
	return prog, nil
}

// maxEvalCost bounds the work of evaluating one condition's principal part.
const maxEvalCost = 100_000

// usesResource reports whether e reads resource (or iterates over it).
func (c *compiler) usesResource(e ast.Expr, iter *iterVar) bool {
	found := false
	visit(e, func(x ast.Expr) {
		if x.Kind() == ast.IdentKind && (x.AsIdent() == "resource" || (iter != nil && x.AsIdent() == iter.name)) {
			found = true
		}
	})
	return found
}

// checkPrincipal reports a select of an unknown principal attribute.
func (c *compiler) checkPrincipal(e ast.Expr) error {
	var err error
	visit(e, func(x ast.Expr) {
		if err != nil || x.Kind() != ast.SelectKind {
			return
		}
		sel := x.AsSelect()
		if op := sel.Operand(); op.Kind() == ast.IdentKind && op.AsIdent() == "principal" && !slices.Contains(principalAttrs, sel.FieldName()) {
			err = c.fail(x, "principal has no attribute %q (it has %s)", sel.FieldName(), strings.Join(principalAttrs, ", "))
		}
	})
	return err
}

// visit calls f on e and every expression under it.
func visit(e ast.Expr, f func(ast.Expr)) {
	f(e)
	switch e.Kind() {
	case ast.CallKind:
		call := e.AsCall()
		if call.Target() != nil {
			visit(call.Target(), f)
		}
		for _, a := range call.Args() {
			visit(a, f)
		}
	case ast.SelectKind:
		visit(e.AsSelect().Operand(), f)
	case ast.ListKind:
		for _, el := range e.AsList().Elements() {
			visit(el, f)
		}
	case ast.MapKind:
		for _, en := range e.AsMap().Entries() {
			me := en.AsMapEntry()
			visit(me.Key(), f)
			visit(me.Value(), f)
		}
	case ast.ComprehensionKind:
		comp := e.AsComprehension()
		visit(comp.IterRange(), f)
		visit(comp.AccuInit(), f)
		visit(comp.LoopCondition(), f)
		visit(comp.LoopStep(), f)
		visit(comp.Result(), f)
	case ast.StructKind:
		for _, fl := range e.AsStruct().Fields() {
			visit(fl.AsStructField().Value(), f)
		}
	}
}
