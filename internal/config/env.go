package config

import (
	"bytes"
	"encoding/json"
	"io"
	"sort"
	"strings"
)

// EnvPrefix starts the names of environment variables that override single
// configuration keys, as in Backstage: APP_CONFIG_backend_listen_port=8080
// sets backend.listen.port.
const EnvPrefix = "APP_CONFIG_"

// envOverrides builds a configuration tree from APP_CONFIG_ variables. Each
// value is read as JSON when it parses as JSON and as a string otherwise.
func envOverrides(env map[string]string) (*node, []Problem) {
	names := make([]string, 0)
	for k := range env {
		if strings.HasPrefix(k, EnvPrefix) {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	sort.Strings(names)
	var probs []Problem
	root := &node{kind: kindMap, file: "environment", values: map[string]*node{}}
	for _, name := range names {
		parts := strings.Split(strings.TrimPrefix(name, EnvPrefix), "_")
		bad := false
		for _, p := range parts {
			if p == "" {
				bad = true
			}
		}
		if bad {
			probs = append(probs, Problem{File: "environment", Key: name, Message: "empty key segment in variable name"})
			continue
		}
		src := "environment " + name
		val := fromValue(src, parseEnvValue(env[name]))
		cur := root
		for i, p := range parts {
			if i == len(parts)-1 {
				cur.set(p, 0, merge(cur.values[p], val))
				break
			}
			next, ok := cur.values[p]
			if !ok || next.kind != kindMap {
				next = &node{kind: kindMap, file: src, values: map[string]*node{}}
				cur.set(p, 0, next)
			}
			cur = next
		}
	}
	return root, probs
}

func parseEnvValue(s string) any {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return s
	}
	var extra any
	if err := dec.Decode(&extra); err != io.EOF {
		return s
	}
	return v
}
