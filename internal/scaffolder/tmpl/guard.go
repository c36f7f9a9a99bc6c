package tmpl

import (
	"fmt"

	"github.com/nikolalohinski/gonja/v2/builtins"
	controlStructures "github.com/nikolalohinski/gonja/v2/builtins/control_structures"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// budgetOf returns the budget of the render ctx belongs to.
func budgetOf(ctx *exec.Context) *budget {
	v, _ := ctx.Get(budgetKey)
	b, _ := v.(*budget)
	return b
}

func errValue(err error) *exec.Value { return exec.AsValue(err) }

// sizeOf approximates the bytes a value holds: strings by length, lists
// and dicts by their items (capped at a depth that templates never need).
func sizeOf(v *exec.Value) int {
	if v == nil || v.IsNil() {
		return 0
	}
	switch {
	case v.IsString():
		return len(v.String())
	case v.IsList() || v.IsDict():
		return v.Len() * 8
	}
	return 8
}

// guardFilter wraps a filter: the deadline is checked first, integer
// arguments are bounded (widths, lengths and counts would otherwise let a
// template allocate at will), and the result is charged to the budget.
func guardFilter(name string, f exec.FilterFunction) exec.FilterFunction {
	return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		b := budgetOf(e.Environment.Context)
		if b == nil {
			return errValue(fmt.Errorf("filter %s used outside a sandboxed render", name))
		}
		if err := b.check(); err != nil {
			return errValue(err)
		}
		for _, a := range params.Args {
			if a.IsInteger() && (a.Integer() > maxIntArg || a.Integer() < -maxIntArg) {
				return errValue(b.fail("filter %s: argument %d is out of range (at most %d)", name, a.Integer(), maxIntArg))
			}
		}
		for _, a := range params.KwArgs {
			if a.IsInteger() && (a.Integer() > maxIntArg || a.Integer() < -maxIntArg) {
				return errValue(b.fail("filter %s: argument %d is out of range (at most %d)", name, a.Integer(), maxIntArg))
			}
		}
		if name == "replace" && len(params.Args) >= 2 {
			// Replacing "" inserts the new text between every byte.
			worst := sizeOf(in) * (len(params.Args[1].String()) + 1)
			if worst > b.limits.MaxBytes && (params.Args[0].String() == "" || worst/2 > b.limits.MaxBytes) {
				if err := b.charge(worst); err != nil {
					return errValue(err)
				}
			}
		}
		out := f(e, in, params)
		if out.IsError() {
			return out
		}
		if err := b.charge(sizeOf(out)); err != nil {
			return errValue(err)
		}
		return out
	}
}

// binop computes left op right after checking that the result fits.
func binop(e *exec.Evaluator, left *exec.Value, params *exec.VarArgs) *exec.Value {
	b := budgetOf(e.Environment.Context)
	if b == nil || len(params.Args) != 2 {
		return errValue(fmt.Errorf("%s used outside a sandboxed render", filterBinop))
	}
	if err := b.check(); err != nil {
		return errValue(err)
	}
	op, right := params.Args[0].String(), params.Args[1]
	var size int
	switch {
	case op == "*" && left.IsString() && right.IsInteger():
		size = len(left.String()) * max(right.Integer(), 0)
		if right.Integer() > b.limits.MaxBytes {
			return errValue(b.fail("repeating a string %d times", right.Integer()))
		}
	case op == "*":
		size = 8
	case left.IsList() && right.IsList():
		size = (left.Len() + right.Len()) * 8
	default:
		size = sizeOf(left) + sizeOf(right)
	}
	if err := b.charge(size); err != nil {
		return errValue(err)
	}
	// Evaluate with gonja's own semantics on two fresh names.
	ctx := e.Environment.Context.Inherit()
	ctx.Set("l", left)
	ctx.Set("r", right)
	sub := &exec.Evaluator{Config: e.Config, Loader: e.Loader, Environment: &exec.Environment{
		Filters: e.Environment.Filters, ControlStructures: e.Environment.ControlStructures,
		Tests: e.Environment.Tests, Methods: e.Environment.Methods, Context: ctx,
	}}
	opTok := &tokens.Token{Val: op, Type: binopTypes[op]}
	return sub.Eval(&nodes.BinaryExpression{
		Left:     &nodes.Name{Name: &tokens.Token{Type: tokens.Name, Val: "l"}},
		Right:    &nodes.Name{Name: &tokens.Token{Type: tokens.Name, Val: "r"}},
		Operator: &nodes.BinOperator{Token: opTok},
	})
}

var binopTypes = map[string]tokens.Type{"*": tokens.Multiply, "+": tokens.Addition, "~": tokens.Tilde}

// outFilter charges an output expression's value to the byte budget, and
// prints booleans as Nunjucks does (true, false; gonja prints True, False).
func outFilter(e *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	b := budgetOf(e.Environment.Context)
	if b == nil {
		return errValue(fmt.Errorf("%s used outside a sandboxed render", filterOut))
	}
	if in.IsBool() {
		return exec.AsValue(fmt.Sprint(in.Bool()))
	}
	if err := b.charge(sizeOf(in)); err != nil {
		return errValue(err)
	}
	return in
}

// loopFilter charges a loop's iterations before the loop starts.
func loopFilter(e *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	b := budgetOf(e.Environment.Context)
	if b == nil {
		return errValue(fmt.Errorf("%s used outside a sandboxed render", filterLoop))
	}
	n := 0
	if in.IsIterable() {
		n = in.Len()
	}
	if err := b.iterate(n); err != nil {
		return errValue(err)
	}
	return in
}

// rangeFunction is range() that charges its items to the iteration budget
// and returns a list (gonja's feeds a channel from a goroutine, which an
// abandoned render would leak).
func rangeFunction(e *exec.Evaluator, params *exec.VarArgs) *exec.Value {
	b := budgetOf(e.Environment.Context)
	if b == nil {
		return errValue(fmt.Errorf("range used outside a sandboxed render"))
	}
	start, stop, step := 0, 0, 1
	ints := make([]int, len(params.Args))
	for i, a := range params.Args {
		if !a.IsInteger() {
			return errValue(fmt.Errorf("range: arguments must be integers"))
		}
		ints[i] = a.Integer()
	}
	switch len(ints) {
	case 1:
		stop = ints[0]
	case 2:
		start, stop = ints[0], ints[1]
	case 3:
		start, stop, step = ints[0], ints[1], ints[2]
	default:
		return errValue(fmt.Errorf("range: expected [start, ]stop[, step]"))
	}
	if step == 0 {
		return errValue(fmt.Errorf("range: step cannot be 0"))
	}
	n := 0
	if step > 0 && stop > start {
		n = (stop - start + step - 1) / step
	} else if step < 0 && start > stop {
		n = (start - stop - step - 1) / -step
	}
	if err := b.iterate(n); err != nil {
		return errValue(err)
	}
	out := make([]any, 0, n)
	for i, v := 0, start; i < n; i, v = i+1, v+step {
		out = append(out, v)
	}
	return exec.AsValue(out)
}

// guardedMacro defines a macro whose calls are bounded in depth and
// checked against the deadline, so recursion cannot exhaust the stack.
type guardedMacro struct {
	Inner *controlStructures.MacroControlStructure
}

func (g *guardedMacro) Position() *tokens.Token { return g.Inner.Position() }
func (g *guardedMacro) String() string          { return g.Inner.String() }

func (g *guardedMacro) Execute(r *exec.Renderer, tag *nodes.ControlStructureBlock) error {
	if err := g.Inner.Execute(r, tag); err != nil {
		return err
	}
	ctx := r.Environment.Context
	v, _ := ctx.Get(g.Inner.Name)
	m, ok := v.(exec.Macro)
	b := budgetOf(ctx)
	if !ok || b == nil {
		return fmt.Errorf("macro %s: not defined in a sandboxed render", g.Inner.Name)
	}
	ctx.Set(g.Inner.Name, exec.Macro(func(params *exec.VarArgs) *exec.Value {
		if err := b.check(); err != nil {
			return errValue(err)
		}
		if b.depth >= b.limits.MaxDepth {
			return errValue(b.fail("macro calls nested deeper than %d", b.limits.MaxDepth))
		}
		b.depth++
		defer func() { b.depth-- }()
		return m(params)
	}))
	return nil
}

func guardedMacroParser(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
	inner, ok := controlStructures.All.Get("macro")
	if !ok {
		return nil, fmt.Errorf("macro is not available")
	}
	cs, err := inner(p, args)
	if err != nil {
		return nil, err
	}
	m, ok := cs.(*controlStructures.MacroControlStructure)
	if !ok {
		return nil, fmt.Errorf("macro: unexpected node %T", cs)
	}
	return &guardedMacro{Inner: m}, nil
}

// sandboxControlStructures are the statements templates may use: no
// include, import, from or extends (they would read other templates).
func sandboxControlStructures() *exec.ControlStructureSet {
	set := map[string]parser.ControlStructureParser{}
	for _, name := range []string{"autoescape", "block", "filter", "for", "if", "raw", "set", "with", "do", "break", "continue", "call"} {
		if p, ok := controlStructures.All.Get(name); ok {
			set[name] = p
		}
	}
	set["macro"] = guardedMacroParser
	return exec.NewControlStructureSet(set)
}

// safeStringMethods are the string methods that cannot grow a value
// beyond its input by much (no padding, repetition or formatting).
var safeStringMethods = []string{
	"capitalize", "casefold", "count", "endswith", "find", "isalnum", "isalpha", "isascii", "isdecimal",
	"isdigit", "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper", "lower", "lstrip",
	"partition", "removeprefix", "removesuffix", "rfind", "rpartition", "rsplit", "rstrip", "split",
	"splitlines", "startswith", "strip", "swapcase", "title", "upper",
}

func sandboxMethods() exec.Methods {
	str := map[string]exec.Method[string]{}
	for _, name := range safeStringMethods {
		if m, ok := builtins.Methods.Str.Get(name); ok {
			str[name] = m
		}
	}
	return exec.Methods{
		Bool: builtins.Methods.Bool, Int: builtins.Methods.Int, Float: builtins.Methods.Float,
		Str: exec.NewMethodSet(str), Dict: builtins.Methods.Dict, List: builtins.Methods.List,
	}
}
