package scaffolder

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// DryRunParams are what POST /v2/dry-run sends: a Template entity, values,
// secrets and the template's files (its skeletons).
type DryRunParams struct {
	Template          json.RawMessage   `json:"template"`
	Values            map[string]any    `json:"values"`
	Secrets           map[string]string `json:"secrets"`
	DirectoryContents []DirectoryFile   `json:"directoryContents"`
}

// DirectoryFile is one file of a dry run's input or output.
type DirectoryFile struct {
	Path          string `json:"path"`
	Base64Content string `json:"base64Content"`
	Executable    bool   `json:"executable,omitempty"`
}

// DryRunResult is the answer of a dry run.
type DryRunResult struct {
	Log               []DryRunLog     `json:"log"`
	DirectoryContents []DirectoryFile `json:"directoryContents"`
	Output            map[string]any  `json:"output"`
	Steps             []DryRunStep    `json:"steps"`
	Status            string          `json:"status"`
	Error             string          `json:"error,omitempty"`
}

// DryRunLog is one log line.
type DryRunLog struct {
	Body EventBody `json:"body"`
}

// DryRunStep is a step and how it ended.
type DryRunStep struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Action string `json:"action"`
	Status string `json:"status"`
}

// dryRunRefPrefix marks a dry run's task in the store (its template ref),
// so that task lists leave it out.
const dryRunRefPrefix = "dry-run:"

// DryRun renders and runs a template in a scratch workspace without
// publishing or registering anything, and returns the files, the log, the
// output and each step's status.
func (s *Service) DryRun(ctx context.Context, p DryRunParams) (*DryRunResult, error) {
	var e catalog.Entity
	if err := json.Unmarshal(p.Template, &e); err != nil {
		return nil, fault.Wrap(fault.Invalid, err, "template")
	}
	scratch, err := os.MkdirTemp(s.p.WorkDir, "dry-run-template-")
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "dry run")
	}
	defer os.RemoveAll(scratch)
	root, err := os.OpenRoot(scratch)
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "dry run")
	}
	defer root.Close()
	for _, f := range p.DirectoryContents {
		data, err := base64.StdEncoding.DecodeString(f.Base64Content)
		if err != nil {
			return nil, fault.New(fault.Invalid, "directoryContents %s: invalid base64", f.Path)
		}
		rel := path.Clean(f.Path)
		if path.IsAbs(rel) || rel == ".." || len(rel) > 2 && rel[:3] == "../" {
			return nil, fault.New(fault.Invalid, "directoryContents %s: the path must stay inside the template's folder", f.Path)
		}
		if dir := path.Dir(rel); dir != "." {
			if err := root.MkdirAll(dir, 0o755); err != nil {
				return nil, fault.Wrap(fault.Invalid, err, "directoryContents %s", f.Path)
			}
		}
		if err := root.WriteFile(rel, data, 0o644); err != nil {
			return nil, fault.Wrap(fault.Invalid, err, "directoryContents %s", f.Path)
		}
	}
	return s.DryRunEntity(ctx, &e, filepath.Join(scratch, "template.yaml"), p.Values, p.Secrets)
}

// DryRunEntity dry-runs a Template entity whose descriptor is file (its
// relative fetch URLs resolve next to it).
func (s *Service) DryRunEntity(ctx context.Context, e *catalog.Entity, file string, values map[string]any, sec map[string]string) (*DryRunResult, error) {
	if e.Metadata.Annotations == nil {
		e.Metadata.Annotations = map[string]string{}
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, err, "template %s", file)
	}
	e.Metadata.Annotations[catalog.AnnotationManagedByLocation] = "file:" + abs
	if e.Metadata.Namespace == "" {
		e.Metadata.Namespace = "default"
	}
	p := DryRunParams{Values: values, Secrets: sec}
	t, err := ParseTemplate(e)
	if err != nil {
		return nil, err
	}
	p.Values = t.WithDefaults(p.Values)
	if err := t.Validate(p.Values); err != nil {
		return nil, err
	}
	spec := TaskSpec{APIVersion: APIVersion, TemplateInfo: TemplateInfo{EntityRef: t.Ref, BaseURL: t.BaseURL},
		Parameters: p.Values, Steps: t.Steps, Output: t.Output, DryRun: true}
	if spec.Parameters == nil {
		spec.Parameters = map[string]any{}
	}
	user := "anonymous"
	if pr := auth.PrincipalFrom(ctx); pr != nil && pr.Ref != "" {
		user = pr.Ref
		spec.User = &UserInfo{Ref: pr.Ref}
	}
	specJSON, _ := json.Marshal(spec)
	state, _ := json.Marshal(TaskState{Steps: map[string]*StepState{}})
	sealed, err := s.seal(p.Secrets, "")
	if err != nil {
		return nil, err
	}
	id := uuid.NewString()
	task := store.Task{ID: id, TemplateRef: dryRunRefPrefix + t.Ref, Status: StatusProcessing, CreatedBy: user, CreatedAt: time.Now(),
		Runner: s.runnerID, LastHeartbeatAt: time.Now(), Spec: specJSON, State: state, Secrets: sealed}
	if err := s.p.Store.TaskCreate(ctx, task); err != nil {
		return nil, err
	}
	status, st, runErr := s.runSteps(ctx, &task)
	res := &DryRunResult{Status: status, Output: st.Output, DirectoryContents: []DirectoryFile{}, Log: []DryRunLog{}}
	if runErr != nil {
		res.Error = runErr.Error()
	}
	if files, err := collect(s.workspace(id)); err == nil {
		res.DirectoryContents = files
	}
	if err := s.finish(ctx, id, status, st, runErr); err != nil {
		return nil, err
	}
	s.removeWorkspace(id)
	evs, err := s.p.Store.TaskEventList(ctx, id, 0, 10000)
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		var b EventBody
		_ = json.Unmarshal(ev.Body, &b)
		res.Log = append(res.Log, DryRunLog{Body: b})
	}
	for _, step := range t.Steps {
		ds := DryRunStep{ID: step.ID, Name: step.Name, Action: step.Action}
		if x := st.Steps[step.ID]; x != nil {
			ds.Status = x.Status
		}
		res.Steps = append(res.Steps, ds)
	}
	return res, nil
}

// collect reads every regular file of a workspace.
func collect(dir string) ([]DirectoryFile, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	out := []DirectoryFile{}
	err = fs.WalkDir(root.FS(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		data, err := root.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := e.Info()
		out = append(out, DirectoryFile{Path: p, Base64Content: base64.StdEncoding.EncodeToString(data),
			Executable: info != nil && info.Mode().Perm()&0o111 != 0})
		return nil
	})
	return out, err
}
