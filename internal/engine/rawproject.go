package engine

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
)

// projectFields checks fields as catalog.Project does and returns the
// paths it would apply: trimmed, without blanks, duplicates and paths
// inside another listed path.
func projectFields(fields []string) ([]string, error) {
	if len(fields) > catalog.MaxProjectionFields {
		return nil, fault.New(fault.Invalid, "too many fields: %d, at most %d are allowed", len(fields), catalog.MaxProjectionFields)
	}
	for _, f := range fields {
		if strings.ContainsAny(f, "[]") {
			return nil, fault.New(fault.Invalid, "invalid fields, array type fields are not supported: %q", f)
		}
	}
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	kept := out[:0:0]
	for i, f := range out {
		covered := false
		for j, g := range out {
			if i != j && (f == g && j < i || len(f) > len(g) && f[len(g)] == '.' && strings.HasPrefix(f, g)) {
				covered = true
				break
			}
		}
		if !covered {
			kept = append(kept, f)
		}
	}
	return kept, nil
}

// projectJSON appends to dst the projection of an entity's final JSON to
// paths (from projectFields) without decoding the entity: the selected
// values are copied, the objects around them rebuilt. The answer is the
// JSON the API encodes for what catalog.Project returns for the decoded
// entity, byte for byte: objects with their keys sorted (as encoding/json
// writes a map), <, > and & unescaped (SetEscapeHTML(false)). It relies on
// the JSON being final JSON as StitchJSON encodes it (a catalog.Entity:
// no unknown top-level keys, no empty metadata fields, numbers and strings
// as encoding/json writes them); false when it is not a well-formed
// object.
func projectJSON(dst, b []byte, paths []string) ([]byte, bool) {
	out, _, ok := projectObject(dst, b, paths, true)
	return out, ok
}

// entityKeys are the top-level keys catalog.EntityMap has.
func entityKey(k []byte) bool {
	switch string(k) {
	case "apiVersion", "kind", "metadata", "spec", "relations", "status":
		return true
	}
	return false
}

// member is one member of a JSON object: its key decoded, its key as
// written (quoted) and its value as written.
type member struct {
	key, rawKey, val []byte
}

// selection is what a projection keeps of one member: all of it, or the
// projection of its value (an object) to the paths under it.
type selection struct {
	m     int // index into the members
	whole bool
}

// subPath is a path under a selected member: the rest of a path after the
// member's key.
type subPath struct {
	sel  int
	rest string
}

// projectObject appends the projection of the JSON object obj to paths;
// wrote is false when nothing was selected (the object is then "{}" at the
// top and nothing below it), ok false when obj is not a well-formed object.
func projectObject(dst, obj []byte, paths []string, top bool) (out []byte, wrote, ok bool) {
	var arr [16]member
	ms, ok := objectMembers(arr[:0], obj)
	if !ok {
		return dst, false, false
	}
	if top {
		n := 0
		for _, m := range ms {
			if entityKey(m.key) {
				ms[n] = m
				n++
			}
		}
		ms = ms[:n]
	}
	var selArr [8]selection
	var restArr [16]subPath
	sels, rests := selArr[:0], restArr[:0]
	for _, p := range paths {
		key, rest := splitRawKey(ms, p)
		i := findMember(ms, key)
		if i < 0 {
			continue
		}
		s := -1
		for j := range sels {
			if sels[j].m == i {
				s = j
				break
			}
		}
		if s < 0 {
			sels = append(sels, selection{m: i})
			s = len(sels) - 1
		}
		if rest == "" {
			sels[s].whole = true
		} else {
			rests = append(rests, subPath{sel: sels[s].m, rest: rest})
		}
	}
	// Sorted by key, as encoding/json writes a map (insertion sort: a
	// handful of keys).
	for i := 1; i < len(sels); i++ {
		for j := i; j > 0 && bytes.Compare(ms[sels[j].m].key, ms[sels[j-1].m].key) < 0; j-- {
			sels[j], sels[j-1] = sels[j-1], sels[j]
		}
	}
	start := len(dst)
	dst = append(dst, '{')
	for _, s := range sels {
		m := ms[s.m]
		mark := len(dst)
		if wrote {
			dst = append(dst, ',')
		}
		dst = appendString(dst, m.rawKey)
		dst = append(dst, ':')
		if s.whole {
			if dst, ok = appendCanonical(dst, m.val); !ok {
				return dst[:start], false, false
			}
			wrote = true
			continue
		}
		// A path through a value that is not an object, or that leads
		// nowhere inside it, adds nothing (not even the key).
		if len(m.val) == 0 || m.val[0] != '{' {
			dst = dst[:mark]
			continue
		}
		var subArr [16]string
		subs := subArr[:0]
		for _, r := range rests {
			if r.sel == s.m {
				subs = append(subs, r.rest)
			}
		}
		var sub bool
		if dst, sub, ok = projectObject(dst, m.val, subs, false); !ok {
			return dst[:start], false, false
		}
		if !sub {
			dst = dst[:mark]
			continue
		}
		wrote = true
	}
	if !wrote && !top {
		return dst[:start], false, true
	}
	return append(dst, '}'), wrote, true
}

// splitRawKey is catalog's splitKey over raw members: the key path starts
// with, preferring the longest that the object has, and the rest after it.
func splitRawKey(ms []member, path string) (key, rest string) {
	if findMember(ms, path) >= 0 {
		return path, ""
	}
	for i := len(path) - 1; i > 0; i-- {
		if path[i] == '.' && findMember(ms, path[:i]) >= 0 {
			return path[:i], path[i+1:]
		}
	}
	key, rest, _ = strings.Cut(path, ".")
	return key, rest
}

// findMember returns the index of the last member named key (the one a
// decoder keeps), or -1.
func findMember(ms []member, key string) int {
	for i := len(ms) - 1; i >= 0; i-- {
		if string(ms[i].key) == key {
			return i
		}
	}
	return -1
}

// objectMembers appends the members of the JSON object b (nothing but the
// object, surrounding space allowed) to ms.
func objectMembers(ms []member, b []byte) ([]member, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return ms, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return ms, skipSpace(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return ms, false
		}
		ke, esc, ok := scanString(b, i)
		if !ok {
			return ms, false
		}
		m := member{rawKey: b[i:ke], key: b[i+1 : ke-1]}
		if esc {
			var s string
			if json.Unmarshal(m.rawKey, &s) != nil {
				return ms, false
			}
			m.key = []byte(s)
		}
		i = skipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return ms, false
		}
		i = skipSpace(b, i+1)
		ve, ok := skipValue(b, i)
		if !ok {
			return ms, false
		}
		m.val = b[i:ve]
		ms = append(ms, m)
		i = skipSpace(b, ve)
		if i >= len(b) {
			return ms, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return ms, skipSpace(b, i+1) == len(b)
		default:
			return ms, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the end of the string starting at b[i] (a quote) and
// whether it holds escapes.
func scanString(b []byte, i int) (end int, esc, ok bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return j + 1, esc, true
		case '\\':
			esc = true
			j++
		}
	}
	return 0, false, false
}

// skipValue returns the end of the JSON value starting at b[i]. Strings,
// nesting and literals are followed, not validated: the JSON is the
// engine's own.
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		end, _, ok := scanString(b, i)
		return end, ok
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _, ok := scanString(b, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
		j++
	}
	if j == i {
		return 0, false
	}
	return j, true
}

// appendCanonical appends the JSON value v as encoding/json would encode
// what it decodes to, with HTML characters unescaped: objects get their
// keys sorted (the last of duplicate keys kept), strings lose their \u003c,
// \u003e and \u0026 escapes, numbers and literals are copied.
func appendCanonical(dst, v []byte) ([]byte, bool) {
	if len(v) == 0 {
		return dst, false
	}
	switch v[0] {
	case '"':
		return appendString(dst, v), true
	case '[':
		if !bytes.ContainsAny(v, "{\\") {
			return append(dst, v...), true // no object, no escape: as it is
		}
		dst = append(dst, '[')
		i := skipSpace(v, 1)
		if i < len(v) && v[i] == ']' {
			return append(dst, ']'), true
		}
		for n := 0; ; n++ {
			end, ok := skipValue(v, i)
			if !ok {
				return dst, false
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			if dst, ok = appendCanonical(dst, v[i:end]); !ok {
				return dst, false
			}
			i = skipSpace(v, end)
			if i >= len(v) {
				return dst, false
			}
			if v[i] == ']' {
				return append(dst, ']'), true
			}
			if v[i] != ',' {
				return dst, false
			}
			i = skipSpace(v, i+1)
		}
	case '{':
		var arr [16]member
		ms, ok := objectMembers(arr[:0], v)
		if !ok {
			return dst, false
		}
		// Stable insertion sort by key, so that of duplicate keys the
		// last (the one a decoder keeps) comes last.
		for i := 1; i < len(ms); i++ {
			for j := i; j > 0 && bytes.Compare(ms[j].key, ms[j-1].key) < 0; j-- {
				ms[j], ms[j-1] = ms[j-1], ms[j]
			}
		}
		dst = append(dst, '{')
		first := true
		for i, m := range ms {
			if i+1 < len(ms) && bytes.Equal(ms[i+1].key, m.key) {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendString(dst, m.rawKey)
			dst = append(dst, ':')
			if dst, ok = appendCanonical(dst, m.val); !ok {
				return dst, false
			}
		}
		return append(dst, '}'), true
	}
	return append(dst, v...), true
}

// appendString appends the JSON string s (quoted, as written) with its
// \u003c, \u003e and \u0026 escapes turned back into <, > and &.
func appendString(dst, s []byte) []byte {
	if !bytes.Contains(s, []byte(`\u00`)) {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			dst = append(dst, c)
			continue
		}
		if s[i+1] == 'u' && i+5 < len(s) && s[i+2] == '0' && s[i+3] == '0' {
			switch string(s[i+4 : i+6]) {
			case "3c", "3C":
				dst = append(dst, '<')
				i += 5
				continue
			case "3e", "3E":
				dst = append(dst, '>')
				i += 5
				continue
			case "26":
				dst = append(dst, '&')
				i += 5
				continue
			}
		}
		// Any other escape is copied whole: its second byte is never a
		// backslash that starts another.
		dst = append(dst, c, s[i+1])
		i++
	}
	return dst
}
