package secrets

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Finding is a line of a configuration file that looks like it holds a
// literal credential. It never carries the value.
type Finding struct {
	File   string
	Line   int
	Key    string
	Reason string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s %s; the file is tracked by git: reference the secret instead (${env:NAME}, ${file:PATH} or ${vault:PATH#KEY})", f.File, f.Line, f.Key, f.Reason)
}

// tokenShapes are well-known credential formats.
var tokenShapes = []struct {
	name string
	re   *regexp.Regexp
}{
	{"a GitHub token", regexp.MustCompile(`\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{40,}`)},
	{"a GitLab token", regexp.MustCompile(`\bglpat-[A-Za-z0-9_-]{20,}`)},
	{"an AWS access key id", regexp.MustCompile(`\b(AKIA|ASIA)[A-Z0-9]{16}\b`)},
	{"a Slack token", regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,}`)},
	{"a Google API key", regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}\b`)},
	{"a Stripe key", regexp.MustCompile(`\b(sk|rk)_live_[0-9A-Za-z]{20,}`)},
	{"a private key", regexp.MustCompile(`-----BEGIN ([A-Z]+ )?PRIVATE KEY-----`)},
	{"a JSON web token", regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`)},
	{"a URL with a password", regexp.MustCompile(`[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@$]{3,}@`)},
}

var (
	yamlKeyValue  = regexp.MustCompile(`^\s*-?\s*([A-Za-z0-9_.-]+)\s*:\s*(.*)$`)
	secretKeyName = regexp.MustCompile(`(?i)(password|passwd|secret|token|apikey|api_key|privatekey|private_key|accesskey|access_key|credentials?)$`)
)

// ScanConfigFiles returns findings for those files that git tracks: known
// token shapes anywhere, and high-entropy literal values under keys named
// like secrets. Files outside a git work tree, or when git is missing, are
// skipped.
func ScanConfigFiles(ctx context.Context, files []string) []Finding {
	var out []Finding
	for _, f := range files {
		if !gitTracked(ctx, f) {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		out = append(out, ScanText(f, data)...)
	}
	return out
}

// ScanText looks for literal credentials in YAML text.
func ScanText(name string, data []byte) []Finding {
	var out []Finding
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(text), "#") {
			continue
		}
		key := ""
		value := ""
		if m := yamlKeyValue.FindStringSubmatch(text); m != nil {
			key, value = m[1], strings.TrimSpace(m[2])
		}
		found := false
		for _, ts := range tokenShapes {
			if ts.re.MatchString(text) {
				out = append(out, Finding{File: name, Line: line, Key: keyOr(key), Reason: "looks like " + ts.name})
				found = true
				break
			}
		}
		if found || key == "" || !secretKeyName.MatchString(key) {
			continue
		}
		value = strings.Trim(stripComment(value), `"'`)
		if value == "" || strings.Contains(value, "${") || strings.HasPrefix(value, "$") || value == "|" || value == ">" {
			continue
		}
		if len(value) >= 12 && entropy(value) >= 3.0 {
			out = append(out, Finding{File: name, Line: line, Key: key, Reason: "holds a literal value that looks random (a credential?)"})
		}
	}
	return out
}

func keyOr(k string) string {
	if k == "" {
		return "a value"
	}
	return k
}

func stripComment(v string) string {
	if i := strings.Index(v, " #"); i >= 0 {
		return strings.TrimSpace(v[:i])
	}
	return v
}

// entropy is the Shannon entropy of s in bits per character.
func entropy(s string) float64 {
	counts := map[rune]int{}
	n := 0
	for _, r := range s {
		counts[r]++
		n++
	}
	var h float64
	for _, c := range counts {
		p := float64(c) / float64(n)
		h -= p * math.Log2(p)
	}
	return h
}

// gitTracked runs `git ls-files --error-unmatch FILE` in the file's directory.
func gitTracked(ctx context.Context, file string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	abs, err := filepath.Abs(file)
	if err != nil {
		return false
	}
	cmd := exec.CommandContext(ctx, "git", "ls-files", "--error-unmatch", "--", filepath.Base(abs))
	cmd.Dir = filepath.Dir(abs)
	cmd.Stdout, cmd.Stderr = nil, nil
	return cmd.Run() == nil
}
