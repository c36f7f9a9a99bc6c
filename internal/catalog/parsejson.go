package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// DocumentFromJSON reads one entity given as a JSON object (an API request
// body, a provider's output) into a Document with the same plain values
// ParseDescriptors produces. JSON carries no line numbers, so every problem
// has line 0. The default limits apply; duplicate keys are refused.
func DocumentFromJSON(file string, raw []byte) (Document, error) {
	lim := DefaultLimits()
	fail := func(format string, args ...any) (Document, error) {
		return Document{}, Problems{{File: file, Message: fmt.Sprintf(format, args...)}}
	}
	if len(raw) > lim.MaxDocumentBytes {
		return fail("entity is %d bytes, more than the limit of %d bytes", len(raw), lim.MaxDocumentBytes)
	}
	if !utf8.Valid(raw) {
		return fail("entity is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	r := jsonReader{dec: dec, lim: lim}
	tok, err := dec.Token()
	if err != nil {
		return fail("invalid JSON: %s", jsonErrText(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fail("entity must be a JSON object, found %s", jsonTokenName(tok))
	}
	v, err := r.object(1)
	if err != nil {
		return fail("%s", err.Error())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fail("invalid JSON: unexpected data after the entity object")
	}
	return Document{File: file, Raw: v}, nil
}

type jsonReader struct {
	dec   *json.Decoder
	lim   Limits
	nodes int
}

func (r *jsonReader) object(depth int) (map[string]any, error) {
	if depth > r.lim.MaxDepth {
		return nil, fmt.Errorf("values are nested more than %d levels deep", r.lim.MaxDepth)
	}
	out := map[string]any{}
	for r.dec.More() {
		tok, err := r.dec.Token()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %s", jsonErrText(err))
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("invalid JSON: expected an object key, found %s", jsonTokenName(tok))
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("object key %q is defined twice", key)
		}
		v, err := r.value(depth)
		if err != nil {
			return nil, err
		}
		out[key] = v
	}
	if _, err := r.dec.Token(); err != nil {
		return nil, fmt.Errorf("invalid JSON: %s", jsonErrText(err))
	}
	return out, nil
}

func (r *jsonReader) value(depth int) (any, error) {
	r.nodes++
	if r.nodes > r.lim.MaxNodes {
		return nil, fmt.Errorf("entity has more than %d values", r.lim.MaxNodes)
	}
	tok, err := r.dec.Token()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %s", jsonErrText(err))
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return r.object(depth + 1)
		case '[':
			if depth+1 > r.lim.MaxDepth {
				return nil, fmt.Errorf("values are nested more than %d levels deep", r.lim.MaxDepth)
			}
			out := []any{}
			for r.dec.More() {
				v, err := r.value(depth + 1)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			if _, err := r.dec.Token(); err != nil {
				return nil, fmt.Errorf("invalid JSON: %s", jsonErrText(err))
			}
			return out, nil
		}
		return nil, fmt.Errorf("invalid JSON: unexpected %q", t.String())
	case json.Number:
		return jsonNumber(t), nil
	default:
		return t, nil
	}
}

// jsonNumber gives whole numbers as int and others as float64, as the YAML
// path does.
func jsonNumber(n json.Number) any {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return int(i)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) {
		return string(n)
	}
	return f
}

func jsonErrText(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return err.Error()
}

func jsonTokenName(tok any) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "an array"
		}
		return fmt.Sprintf("%q", t.String())
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "something else"
}
