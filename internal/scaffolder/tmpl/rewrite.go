package tmpl

import (
	"reflect"
	"unsafe"

	controlStructures "github.com/nikolalohinski/gonja/v2/builtins/control_structures"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// The names of the metering filters the rewrite inserts. A template may
// name them too; they only meter, so that gains it nothing.
const (
	filterBinop = "__atrium_binop"
	filterOut   = "__atrium_out"
	filterLoop  = "__atrium_loop"
)

var (
	expressionType = reflect.TypeFor[nodes.Expression]()
	outputType     = reflect.TypeFor[nodes.Output]()
	forType        = reflect.TypeFor[controlStructures.ForControlStructure]()
)

// meter rewrites a parsed template in place so that everything that can
// grow without bound goes through a metering filter:
//
//   - a * b, a + b and a ~ b become a | __atrium_binop("op", b), which
//     checks the size of the result before computing it;
//   - the value of every {{ }} output is charged to the byte budget;
//   - the iterable of every for loop is charged to the iteration budget.
//
// The walk reaches every field of every node, exported or not (control
// structures keep their expressions in unexported fields), through
// reflection.
func meter(root *nodes.Template) {
	w := &rewriter{seen: map[uintptr]bool{}}
	w.walk(reflect.ValueOf(root))
}

type rewriter struct {
	seen map[uintptr]bool
}

func (w *rewriter) walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || w.seen[v.Pointer()] {
			return
		}
		w.seen[v.Pointer()] = true
		w.walk(v.Elem())
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		inner := v.Elem()
		w.walk(inner)
		if v.Type() == expressionType && v.CanSet() {
			if repl := w.replace(inner.Interface().(nodes.Expression)); repl != nil {
				v.Set(reflect.ValueOf(repl))
			}
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[tokens.Token]() {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			w.walk(settable(v.Field(i)))
		}
		if !v.CanAddr() {
			return
		}
		switch v.Type() {
		case outputType:
			o := v.Addr().Interface().(*nodes.Output)
			o.Expression = wrap(o.Expression, filterOut)
			if o.Alternative != nil {
				o.Alternative = wrap(o.Alternative, filterOut)
			}
		case forType:
			f := v.Addr().Interface().(*controlStructures.ForControlStructure)
			f.ObjectEvaluator = wrap(f.ObjectEvaluator, filterLoop)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			w.walk(settable(v.Index(i)))
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			val := reflect.New(iter.Value().Type()).Elem()
			val.Set(iter.Value())
			w.walk(val)
			v.SetMapIndex(iter.Key(), val)
		}
	}
}

// settable returns v itself when it can be set, else the same memory seen
// through a settable value (unexported fields).
func settable(v reflect.Value) reflect.Value {
	if v.CanSet() || !v.CanAddr() {
		return v
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

// replace returns the metered form of a growing binary expression, or nil.
func (w *rewriter) replace(e nodes.Expression) nodes.Expression {
	b, ok := e.(*nodes.BinaryExpression)
	if !ok || b.Operator == nil || b.Operator.Token == nil {
		return nil
	}
	switch b.Operator.Token.Val {
	case "*", "+", "~":
	default:
		return nil
	}
	op := b.Operator.Token
	return &nodes.FilteredExpression{
		Expression: b.Left,
		Filters: []*nodes.FilterCall{{
			Token: op,
			Name:  filterBinop,
			Args:  []nodes.Expression{&nodes.String{Location: op, Val: op.Val}, b.Right},
		}},
	}
}

func wrap(e nodes.Expression, filter string) nodes.Expression {
	if e == nil {
		return nil
	}
	return &nodes.FilteredExpression{
		Expression: e,
		Filters:    []*nodes.FilterCall{{Token: e.Position(), Name: filter}},
	}
}
