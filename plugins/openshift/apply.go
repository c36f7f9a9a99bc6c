package openshift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/atrium-portal/atrium/internal/integrations/kube"
	"github.com/atrium-portal/atrium/plugin"
)

// ApplyAction is kube:apply.
type ApplyAction struct{ p *Plugin }

var _ plugin.Action = (*ApplyAction)(nil)

func (a *ApplyAction) ID() string { return "kube:apply" }

func (a *ApplyAction) Description() string {
	return "Applies the manifests of workspace files or folders with server-side apply (field manager atrium), after a server-side dry run reporting every problem."
}

func (a *ApplyAction) Schema() (json.RawMessage, json.RawMessage) {
	return json.RawMessage(`{
  "type": "object",
  "required": ["manifests"],
  "additionalProperties": false,
  "properties": {
    "manifests": {"type": ["string", "array"], "items": {"type": "string"}, "minLength": 1, "minItems": 1, "description": "workspace paths of YAML/JSON files (multi-document) or folders (their .yaml, .yml and .json files)"},
    "namespace": {"type": "string", "description": "namespace of the namespaced objects that name none"},
    "cluster": {"type": "string", "description": "the cluster's name in plugins.openshift.config.clusters (default: the first)"},
    "force": {"type": "boolean", "description": "take over fields another field manager owns instead of failing on the conflict"},
    "wait": {"type": "boolean", "description": "wait until the rollout of every applied Deployment is complete"},
    "waitTimeout": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$", "description": "how long to wait for the rollouts (default 5m, at most maxRolloutTimeout)"}
  }
}`), json.RawMessage(`{
  "type": "object",
  "properties": {
    "applied": {"type": "array", "items": {"type": "string"}},
    "cluster": {"type": "string"},
    "namespace": {"type": "string"}
  }
}`)
}

func (a *ApplyAction) Run(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error {
	in := req.Input
	clusterName, _ := in["cluster"].(string)
	c, err := a.p.cluster(clusterName)
	if err != nil {
		return err
	}
	var paths []string
	switch v := in["manifests"].(type) {
	case string:
		paths = []string{v}
	case []any:
		for i, x := range v {
			s, ok := x.(string)
			if !ok || s == "" {
				return plugin.Errorf(plugin.ErrInvalid, "input.manifests[%d]: a workspace path is required", i)
			}
			paths = append(paths, s)
		}
	}
	if len(paths) == 0 {
		return plugin.Errorf(plugin.ErrInvalid, "input.manifests: name at least one workspace file or folder")
	}
	ns, _ := in["namespace"].(string)
	if ns != "" {
		if err := kube.ValidName(ns); err != nil {
			return plugin.Errorf(plugin.ErrInvalid, "input.namespace: %v", err)
		}
	}
	force, _ := in["force"].(bool)
	wait, _ := in["wait"].(bool)
	waitTimeout := 5 * time.Minute
	if v, _ := in["waitTimeout"].(string); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return plugin.Errorf(plugin.ErrInvalid, "input.waitTimeout: %q is not a positive duration such as 5m", v)
		}
		if d > a.p.maxRollout {
			return plugin.Errorf(plugin.ErrInvalid, "input.waitTimeout: %s is over the limit of %s (plugins.openshift.config.maxRolloutTimeout)", d, a.p.maxRollout)
		}
		waitTimeout = d
	}
	ms, err := a.read(req.Workspace, paths)
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		return plugin.Errorf(plugin.ErrInvalid, "input.manifests: %s hold no objects", strings.Join(paths, ", "))
	}
	rep.Log("info", fmt.Sprintf("%d object(s) from %s; server-side dry run on %s", len(ms), strings.Join(paths, ", "), a.p.where(c)))
	rep.Progress(20, "dry run")
	if req.DryRun && ns != "" {
		// A task's dry run created no project: the cluster's own dry run
		// would only say the namespace is missing.
		_, err := c.client.Dynamic().Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			rep.Log("info", fmt.Sprintf("dry run: namespace %s does not exist yet (an earlier step would create it); the %d object(s) parse, the cluster's own dry run is skipped", ns, len(ms)))
			rep.Output("cluster", c.cfg.Name)
			rep.Output("namespace", ns)
			rep.Output("applied", []string{})
			return nil
		}
	}
	opts := kube.ApplyOptions{Namespace: ns, Force: force, DryRun: true}
	if _, err := c.client.Apply(ctx, ms, opts); err != nil {
		return a.problems(c, rep, err, "the dry run")
	}
	rep.Log("info", "dry run: the cluster accepts every object")
	rep.Output("cluster", c.cfg.Name)
	rep.Output("namespace", ns)
	if req.DryRun {
		rep.Output("applied", []string{})
		return nil
	}
	rep.Progress(60, "applying")
	opts.DryRun = false
	res, err := c.client.Apply(ctx, ms, opts)
	applied := make([]string, 0, len(res))
	for _, r := range res {
		applied = append(applied, r.Ref)
		rep.Log("info", fmt.Sprintf("%s %s (%s)", r.Ref, r.Action, r.Source))
	}
	rep.Output("applied", applied)
	if err != nil {
		return a.problems(c, rep, err, "applying")
	}
	rep.Log("info", fmt.Sprintf("applied %d object(s) with the field manager %s", len(res), kube.FieldManager))
	if wait {
		return a.waitRollouts(ctx, c, rep, res, waitTimeout)
	}
	return nil
}

// waitRollouts waits until every applied Deployment has rolled out.
func (a *ApplyAction) waitRollouts(ctx context.Context, c cluster, rep plugin.ActionReporter, res []kube.Result, timeout time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, r := range res {
		if r.Object == nil || r.Object.GetKind() != "Deployment" {
			continue
		}
		rep.Progress(80, "waiting for "+r.Ref)
		d, err := c.client.WaitRollout(wctx, r.Object.GetNamespace(), r.Object.GetName(), a.p.poll, func(d kube.Deployment) {
			rep.Log("info", fmt.Sprintf("%s: %d/%d ready, rollout %s", r.Ref, d.Ready, d.Desired, d.Rollout))
		})
		if err != nil {
			// The client's rate limiter refuses a wait that would pass the
			// deadline before the deadline itself: that is the timeout too.
			if dl, _ := wctx.Deadline(); ctx.Err() == nil && (wctx.Err() != nil || time.Until(dl) <= a.p.poll) {
				return plugin.Errorf(plugin.ErrUnavailable, "%s did not roll out within %s (input.waitTimeout): %s", r.Ref, timeout, d.Rollout)
			}
			if kube.StatusOf(err) != 0 {
				return fault(c, err, "waiting for "+r.Ref)
			}
			return plugin.Errorf(plugin.ErrConflict, "%v", err)
		}
	}
	return nil
}

// problems logs every problem the cluster reported and returns an error
// summing them up.
func (a *ApplyAction) problems(c cluster, rep plugin.ActionReporter, err error, doing string) error {
	var pe *kube.ProblemsError
	if !errors.As(err, &pe) {
		return fault(c, err, doing)
	}
	for _, p := range pe.Problems {
		rep.Log("error", p.String())
	}
	kind := plugin.ErrInvalid
	hint := ""
	if pe.Conflicts() {
		kind, hint = plugin.ErrConflict, "; set force: true to take the fields over"
	}
	return plugin.Errorf(kind, "%s on %s found %s%s", doing, a.p.where(c), pe.Error(), hint)
}

// read decodes the manifests of the paths, resolved inside the
// workspace only.
func (a *ApplyAction) read(workspace string, paths []string) ([]kube.Manifest, error) {
	if workspace == "" {
		return nil, plugin.Errorf(plugin.ErrInvalid, "input.manifests: the task has no workspace")
	}
	root, err := os.OpenRoot(workspace)
	if err != nil {
		return nil, plugin.Errorf(plugin.ErrInternal, "opening the workspace: %v", err)
	}
	defer root.Close()
	fsys := root.FS()
	var out []kube.Manifest
	for _, p := range paths {
		clean := path.Clean(strings.TrimPrefix(p, "./"))
		if path.IsAbs(p) || !fs.ValidPath(clean) {
			return nil, plugin.Errorf(plugin.ErrInvalid, "input.manifests: %q is not a path inside the workspace", p)
		}
		st, err := fs.Stat(fsys, clean)
		if err != nil {
			return nil, plugin.Errorf(plugin.ErrInvalid, "input.manifests: %q: %v", p, err)
		}
		files := []string{clean}
		if st.IsDir() {
			files = nil
			err := fs.WalkDir(fsys, clean, func(f string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				switch path.Ext(f) {
				case ".yaml", ".yml", ".json":
					if !d.IsDir() {
						files = append(files, f)
					}
				}
				return nil
			})
			if err != nil {
				return nil, plugin.Errorf(plugin.ErrInvalid, "input.manifests: %q: %v", p, err)
			}
		}
		for _, f := range files {
			data, err := readLimited(fsys, f, a.p.cfg.MaxManifestBytes)
			if err != nil {
				return nil, plugin.Errorf(plugin.ErrInvalid, "input.manifests: %v", err)
			}
			ms, err := kube.Decode(data, f, a.p.cfg.MaxObjects)
			if err != nil {
				return nil, plugin.Errorf(plugin.ErrInvalid, "input.manifests: %v", err)
			}
			out = append(out, ms...)
			if len(out) > a.p.cfg.MaxObjects {
				return nil, plugin.Errorf(plugin.ErrInvalid, "input.manifests: more than %d objects (plugins.openshift.config.maxObjects)", a.p.cfg.MaxObjects)
			}
		}
	}
	return out, nil
}

func readLimited(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes (plugins.openshift.config.maxManifestBytes)", name, limit)
	}
	return data, nil
}
