package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
)

// ValidateEntity runs the processing pipeline on raw as if it were read from
// location (placeholders, validation, rules, relations, size, a Location's
// targets) without storing anything (§2.11).
func (e *Engine) ValidateEntity(ctx context.Context, location string, raw json.RawMessage) ([]Problem, error) {
	loc, err := catalog.ParseLocationRef(location)
	if err != nil {
		return []Problem{{Field: "location", Message: fault.MessageOf(err)}}, nil
	}
	doc, err := catalog.DocumentFromJSON("", raw)
	if err != nil {
		return errorProblems(err), nil
	}
	sc := &scope{ruleOrigin: loc, rules: &e.rules, origin: loc.String()}
	u := &unit{target: loc, locKey: loc.String(), scope: sc}
	r := e.processDoc(ctx, u, doc)
	out := append([]Problem(nil), r.probs...)
	if r.loc != nil {
		for _, it := range r.loc.problems {
			out = append(out, itemProblem(it))
		}
	}
	return out, nil
}

// itemProblem turns a status item back into a problem.
func itemProblem(it catalog.StatusItem) Problem {
	if it.Error != nil {
		return Problem{Message: it.Error.Message}
	}
	return Problem{Message: it.Message}
}

// errorProblems turns an error into problems.
func errorProblems(err error) []Problem {
	var ps catalog.Problems
	if errors.As(err, &ps) {
		return append([]Problem(nil), ps...)
	}
	return []Problem{{Message: fault.MessageOf(err)}}
}

// descriptorExt reports whether a file found in a directory is a descriptor.
func descriptorExt(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

// descriptorFiles returns the descriptor files under dir, sorted.
func descriptorFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && descriptorExt(d.Name()) {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// ValidatePaths validates descriptor files offline, as the server would
// process them (parse, placeholders, validation, relations, size): paths
// are files, or directories searched for *.yaml and *.yml (hidden
// directories skipped; there, YAML documents without apiVersion and kind
// are not descriptors and are skipped). $text, $json and $yaml placeholders are read from
// disk; URL placeholders are not fetched and count as empty objects. Catalog
// rules are not checked: they are server configuration. Every problem is
// returned; the error is only for a call without paths.
func ValidatePaths(paths []string, limits Limits) ([]Problem, error) {
	if len(paths) == 0 {
		return nil, errors.New("no paths to validate")
	}
	limits = limits.withDefaults()
	ctx := context.Background()
	var out []Problem
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			out = append(out, Problem{File: p, Message: pathErrText(err)})
			continue
		}
		files, walked := []string{p}, st.IsDir()
		if walked {
			if files, err = descriptorFiles(p); err != nil {
				out = append(out, Problem{File: p, Message: pathErrText(err)})
				continue
			}
		}
		for _, f := range files {
			out = append(out, validateFile(ctx, f, limits, walked)...)
		}
	}
	return out, nil
}

// validateFile validates the documents of one file; a file found by a
// directory walk may hold documents that are not entities, which are skipped.
func validateFile(ctx context.Context, file string, limits Limits, walked bool) []Problem {
	abs, err := filepath.Abs(file)
	if err != nil {
		return []Problem{{File: file, Message: err.Error()}}
	}
	rd := &FileReader{MaxBytes: int64(limits.Parse.MaxDocumentBytes)}
	data, err := rd.Read(ctx, abs)
	if err != nil {
		return []Problem{{File: file, Message: fault.MessageOf(err)}}
	}
	docs, err := catalog.ParseDescriptors(file, data, limits.Parse)
	if err != nil {
		return errorProblems(err)
	}
	base := catalog.LocationRef{Type: "file", Target: abs}
	read := func(ctx context.Context, target string) ([]byte, error) {
		loc, err := catalog.ParseLocationRef(target)
		if err != nil {
			return nil, err
		}
		if loc.Type != "file" {
			return []byte("{}"), nil
		}
		return (&FileReader{MaxBytes: catalog.MaxPlaceholderBytes}).Read(ctx, loc.Target)
	}
	var out []Problem
	for _, doc := range docs {
		if walked && !looksLikeEntity(doc.Raw) {
			continue
		}
		if ps := catalog.ResolvePlaceholders(ctx, &doc, base, read); len(ps) > 0 {
			out = append(out, ps...)
			continue
		}
		ent, ps := catalog.ValidateDocument(doc)
		if len(ps) > 0 {
			out = append(out, ps...)
			continue
		}
		if _, ps := catalog.Relations(ent); len(ps) > 0 {
			out = append(out, ps...)
			continue
		}
		if b, err := json.Marshal(ent); err == nil && len(b) > limits.MaxEntityBytes {
			out = append(out, Problem{File: doc.File, Line: doc.Line, Message: fmt.Sprintf(
				"entity %s is %d bytes once processed, over the limit of %d bytes", ent.Ref(), len(b), limits.MaxEntityBytes)})
		}
	}
	return out
}
