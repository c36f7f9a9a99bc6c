package apidocs

import (
	"html/template"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Token classes, used as CSS classes "tok-<class>".
const (
	tokKeyword   = "kw"
	tokType      = "type"
	tokString    = "str"
	tokComment   = "com"
	tokNumber    = "num"
	tokDirective = "dir"
)

var graphqlKeywords = set("type", "query", "mutation", "subscription", "schema", "enum", "input",
	"interface", "union", "scalar", "implements", "extend", "directive", "fragment", "on",
	"repeatable", "true", "false", "null")

var graphqlTypes = set("ID", "String", "Int", "Float", "Boolean")

var protoKeywords = set("syntax", "edition", "package", "import", "option", "message", "service",
	"rpc", "returns", "enum", "oneof", "map", "repeated", "optional", "required", "reserved",
	"stream", "extend", "public", "weak", "to", "max", "true", "false", "extensions")

var protoTypes = set("double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64",
	"fixed32", "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes")

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// language describes what a tokenizer recognises.
type language struct {
	keywords, types map[string]bool
	// hashComments: # starts a comment (GraphQL); otherwise // and /* */.
	hashComments bool
	// capitalTypes: identifiers that start with a capital are types.
	capitalTypes bool
	// directives: @name is a directive (GraphQL).
	directives bool
	// blockStrings: """ starts a block string (GraphQL).
	blockStrings bool
}

var (
	graphqlLang = language{keywords: graphqlKeywords, types: graphqlTypes, hashComments: true, capitalTypes: true, directives: true, blockStrings: true}
	protoLang   = language{keywords: protoKeywords, types: protoTypes, capitalTypes: true}
)

// highlight tokenizes src and wraps keywords, types, strings, comments and
// numbers in <span class="tok-…">; every piece of text is escaped.
func highlight(src string, lang language) template.HTML {
	var b strings.Builder
	b.Grow(len(src) * 2)
	emit := func(class, text string) {
		if class == "" {
			b.WriteString(template.HTMLEscapeString(text))
			return
		}
		b.WriteString(`<span class="tok-`)
		b.WriteString(class)
		b.WriteString(`">`)
		b.WriteString(template.HTMLEscapeString(text))
		b.WriteString(`</span>`)
	}
	i := 0
	for i < len(src) {
		c := src[i]
		rest := src[i:]
		switch {
		case lang.hashComments && c == '#', !lang.hashComments && strings.HasPrefix(rest, "//"):
			end := strings.IndexByte(rest, '\n')
			if end < 0 {
				end = len(rest)
			}
			emit(tokComment, rest[:end])
			i += end
		case !lang.hashComments && strings.HasPrefix(rest, "/*"):
			end := strings.Index(rest[2:], "*/")
			if end < 0 {
				end = len(rest)
			} else {
				end += 4
			}
			emit(tokComment, rest[:end])
			i += end
		case lang.blockStrings && strings.HasPrefix(rest, `"""`):
			end := strings.Index(rest[3:], `"""`)
			if end < 0 {
				end = len(rest)
			} else {
				end += 6
			}
			emit(tokString, rest[:end])
			i += end
		case c == '"' || c == '\'' && !lang.hashComments:
			end := 1
			for end < len(rest) && rest[end] != c && rest[end] != '\n' {
				if rest[end] == '\\' && end+1 < len(rest) {
					end++
				}
				end++
			}
			if end < len(rest) && rest[end] == c {
				end++
			}
			emit(tokString, rest[:end])
			i += end
		case lang.directives && c == '@':
			end := 1 + identLen(rest[1:])
			emit(tokDirective, rest[:end])
			i += end
		case c >= '0' && c <= '9' || c == '-' && len(rest) > 1 && rest[1] >= '0' && rest[1] <= '9':
			end := 1
			for end < len(rest) && (isIdent(rune(rest[end])) || rest[end] == '.') {
				end++
			}
			emit(tokNumber, rest[:end])
			i += end
		case isIdentStart(c):
			end := identLen(rest)
			word := rest[:end]
			r, _ := utf8.DecodeRuneInString(word)
			switch {
			case lang.keywords[word]:
				emit(tokKeyword, word)
			case lang.types[word] || lang.capitalTypes && unicode.IsUpper(r):
				emit(tokType, word)
			default:
				emit("", word)
			}
			i += end
		default:
			_, size := utf8.DecodeRuneInString(rest)
			emit("", rest[:size])
			i += size
		}
	}
	return template.HTML(b.String()) //nolint:gosec // every piece is escaped above
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdent(r rune) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// identLen is the length of the identifier (letters, digits, _ and, for
// qualified proto names, dots) at the start of s.
func identLen(s string) int {
	n := 0
	for n < len(s) && (isIdent(rune(s[n])) || s[n] == '.' && n > 0) {
		n++
	}
	return n
}
