package config

import (
	"strings"
	"testing"
)

// FuzzLoadBytes checks that no input makes Load panic, and that every
// failure names where it happened.
func FuzzLoadBytes(f *testing.F) {
	f.Add(string(defaultYAML))
	f.Add("backend:\n  listen: ':7007'\n")
	f.Add("catalog:\n  locations:\n    - { type: file, target: ${X:-a} }\n")
	f.Add("a: &a [*a]\n")
	f.Fuzz(func(t *testing.T, s string) {
		_, err := LoadBytes("fuzz.yaml", []byte(s), map[string]string{"X": "1"})
		if err == nil {
			return
		}
		probs, ok := err.(Problems)
		if !ok {
			t.Fatalf("error is %T, want Problems: %v", err, err)
		}
		for _, p := range probs {
			if p.File == "" && p.Key == "" && !strings.Contains(p.Message, "fuzz.yaml") {
				t.Errorf("problem names no place: %v", p)
			}
		}
	})
}
