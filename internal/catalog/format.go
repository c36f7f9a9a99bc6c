package catalog

import (
	"net/url"
	"strings"
)

// The format checks of Backstage's default validators (backstage.md §1.3),
// written without regular expressions because they run for every field of
// every entity.

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isLowerAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// IsValidObjectName reports whether s is a valid metadata.name, label value
// or link icon: ^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$, 1-63 characters.
func IsValidObjectName(s string) bool {
	if len(s) < 1 || len(s) > 63 || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// IsValidDNSLabel reports whether s is ^[a-z0-9]+(-[a-z0-9]+)*$ with 1-63
// characters; namespaces follow this rule.
func IsValidDNSLabel(s string) bool {
	if len(s) < 1 || len(s) > 63 {
		return false
	}
	return dashSeparated(s, isLowerAlnum)
}

// dashSeparated reports whether s is runs of ok characters joined by single
// dashes.
func dashSeparated(s string, ok func(byte) bool) bool {
	prevDash := true // no leading dash
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' {
			if prevDash {
				return false
			}
			prevDash = true
			continue
		}
		if !ok(c) {
			return false
		}
		prevDash = false
	}
	return !prevDash
}

// IsValidDNSSubdomain reports whether s has 1-253 characters and every
// dot-separated part is a DNS label.
func IsValidDNSSubdomain(s string) bool {
	if len(s) < 1 || len(s) > 253 {
		return false
	}
	for part := range strings.SplitSeq(s, ".") {
		if !IsValidDNSLabel(part) {
			return false
		}
	}
	return true
}

// IsValidKind reports whether s is ^[a-zA-Z][a-zA-Z0-9]*$ with 1-63 characters.
func IsValidKind(s string) bool {
	if len(s) < 1 || len(s) > 63 {
		return false
	}
	c := s[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

// IsValidAPIVersion reports whether s is [prefix "/"] version, the prefix a
// DNS subdomain and the version 1-63 ASCII letters and digits.
func IsValidAPIVersion(s string) bool {
	return prefixAndSuffix(s, IsValidDNSSubdomain, func(v string) bool {
		if len(v) < 1 || len(v) > 63 {
			return false
		}
		for i := 0; i < len(v); i++ {
			if !isAlnum(v[i]) {
				return false
			}
		}
		return true
	})
}

// IsValidLabelKey reports whether s is [prefix "/"] name, the prefix a DNS
// subdomain and the name a valid object name. Annotation keys follow the
// same rule.
func IsValidLabelKey(s string) bool {
	return prefixAndSuffix(s, IsValidDNSSubdomain, IsValidObjectName)
}

// IsValidLabelValue reports whether s is empty or a valid object name.
func IsValidLabelValue(s string) bool {
	return s == "" || IsValidObjectName(s)
}

// IsValidTag reports whether s is ^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$ with 1-63
// characters.
func IsValidTag(s string) bool {
	if len(s) < 1 || len(s) > 63 {
		return false
	}
	return dashSeparated(s, func(c byte) bool { return isLowerAlnum(c) || c == ':' || c == '+' || c == '#' })
}

// IsValidURL reports whether s parses as an absolute URL.
func IsValidURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "ftp", "ws", "wss":
		return u.Host != ""
	}
	return u.Opaque != "" || u.Host != "" || u.Path != ""
}

func prefixAndSuffix(s string, prefix, suffix func(string) bool) bool {
	p, rest, found := strings.Cut(s, "/")
	if !found {
		return suffix(s)
	}
	if strings.Contains(rest, "/") {
		return false
	}
	return prefix(p) && suffix(rest)
}

// The expectations of Backstage's messages, by validator.
const (
	expectObjectName = "a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total"
	expectPrefixed   = "a valid prefix and/or suffix"
	expectDNSLabel   = "a string that is sequences of [a-z0-9] separated by [-], at most 63 characters in total"
	expectTag        = "a string that is sequences of [a-z0-9+#] separated by [-], at most 63 characters in total"
	expectKind       = "a string that is a sequence of [a-zA-Z][a-z0-9A-Z], at most 63 characters in total"
	expectURL        = "a string that is a valid url"
	expectNonEmpty   = "a non empty string"
)
