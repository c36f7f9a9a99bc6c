package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// Import loads every descriptor under dir (*.yaml and *.yml, hidden
// directories skipped; YAML documents without apiVersion and kind, such as
// API definitions, are not descriptors) as the provider "import:<absolute dir>" with a full
// mutation: a second import of the same directory removes what is gone.
// Location entities found are followed; catalog rules are not applied (the
// operator chose the files). progress, when set, is told how many files
// are done. Problems with single files or entities do not stop the import;
// they are returned together as catalog.Problems.
func (e *Engine) Import(ctx context.Context, dir string, progress func(done, total int)) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return fmt.Errorf("import %s: %s", dir, pathErrText(err))
	}
	if !st.IsDir() {
		return fmt.Errorf("import %s: not a directory", dir)
	}
	files, err := descriptorFiles(abs)
	if err != nil {
		return fmt.Errorf("import %s: %s", dir, pathErrText(err))
	}
	root := providerKey("import:" + abs)
	sc := &scope{origin: "file:" + abs}
	units := make([]*unit, len(files))
	for i, f := range files {
		loc := catalog.LocationRef{Type: "file", Target: f}
		units[i] = &unit{target: loc, parent: root, locKey: loc.String(), scope: sc, descriptorsOnly: true}
	}
	if progress != nil {
		progress(0, len(units))
	}
	p, err := e.runPass(ctx, passSpec{kind: passFull, root: root, units: units, progress: progress})
	if err != nil {
		return err
	}
	if len(p.problems) > 0 {
		return catalog.Problems(p.problems)
	}
	return nil
}
