package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/pluginhost"
	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugins"
)

// pluginCommand runs `atrium plugin search|info|install|upgrade|remove|list`.
// install, upgrade and remove change the plugin directory; a running
// server notices within atrium.pluginHost.watchInterval and starts, swaps
// or stops the plugin without a restart.
func pluginCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("plugin needs a subcommand: search, info, install, upgrade, remove or list")
	}
	sub := args[0]
	fs := newFlagSet("plugin " + sub)
	var files stringList
	fs.Var(&files, "config", "configuration file (repeatable)")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	want := map[string][2]int{"search": {0, 1}, "info": {1, 1}, "install": {1, 1}, "upgrade": {1, 1}, "remove": {1, 1}, "list": {0, 0}}
	n, ok := want[sub]
	if !ok {
		return usagef("unknown plugin subcommand %q (want search, info, install, upgrade, remove or list)", sub)
	}
	if len(pos) < n[0] || len(pos) > n[1] {
		if n[0] == 1 {
			return usagef("plugin %s needs one plugin id, got %d arguments", sub, len(pos))
		}
		return usagef("plugin %s takes at most %d argument(s), got %q", sub, n[1], pos)
	}
	cfg, err := loadConfig(files)
	if err != nil {
		return err
	}
	set, err := pluginhost.FromConfig(cfg.Atrium.PluginHost)
	if err != nil {
		return err
	}
	pc := &pluginCLI{cfg: cfg, set: set, api: semver.MustParse(plugin.APIVersion), stdout: stdout, stderr: stderr}
	switch sub {
	case "search":
		text := ""
		if len(pos) == 1 {
			text = pos[0]
		}
		return pc.search(ctx, text)
	case "info":
		return pc.info(ctx, pos[0])
	case "install":
		return pc.install(ctx, pos[0])
	case "upgrade":
		return pc.upgrade(ctx, pos[0])
	case "remove":
		return pc.remove(ctx, pos[0])
	}
	return pc.list()
}

type pluginCLI struct {
	cfg    *config.Config
	set    pluginhost.Settings
	api    *semver.Version
	stdout io.Writer
	stderr io.Writer
}

func (pc *pluginCLI) index(ctx context.Context) (*pluginhost.Index, error) {
	return pc.set.Fetcher.LoadIndex(ctx, pc.set.Registry)
}

func (pc *pluginCLI) entry(ctx context.Context, id string) (*pluginhost.Index, *pluginhost.Entry, error) {
	idx, err := pc.index(ctx)
	if err != nil {
		return nil, nil, err
	}
	e, ok := idx.Plugin(id)
	if !ok {
		return nil, nil, fmt.Errorf("plugin %q is not in the registry %s (atrium plugin search lists what is)", id, idx.Source)
	}
	return idx, e, nil
}

func (pc *pluginCLI) search(ctx context.Context, text string) error {
	idx, err := pc.index(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(pc.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLATEST\tCOMPATIBLE\tLAST RELEASE\tDESCRIPTION")
	found := 0
	for i := range idx.Plugins {
		e := &idx.Plugins[i]
		if text != "" && !strings.Contains(strings.ToLower(e.ID+" "+e.Description), strings.ToLower(text)) {
			continue
		}
		found++
		compat := "none"
		if c := e.Compatible(pc.api, pluginhost.Platform); len(c) > 0 {
			compat = c[0].Version
		}
		desc := e.Description
		if e.Unmaintained(now, pc.cfg.Atrium.PluginHost.UnmaintainedAfter) {
			desc = "[possibly unmaintained] " + desc
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.ID, e.Versions[0].Version, compat, e.LatestRelease().Format(time.DateOnly), desc)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if found == 0 {
		fmt.Fprintf(pc.stderr, "no plugin in %s matches %q\n", idx.Source, text)
	}
	return nil
}

func (pc *pluginCLI) info(ctx context.Context, id string) error {
	_, e, err := pc.entry(ctx, id)
	if err != nil {
		return err
	}
	w := pc.stdout
	fmt.Fprintf(w, "%s — %s\n", e.ID, e.Description)
	for _, kv := range [][2]string{{"Maintainer", e.Maintainer}, {"Licence", e.Licence}, {"Homepage", e.Homepage}} {
		if kv[1] != "" {
			fmt.Fprintf(w, "%-11s %s\n", kv[0]+":", kv[1])
		}
	}
	fmt.Fprintf(w, "%-11s %s\n", "Released:", e.LatestRelease().Format(time.DateOnly))
	after := pc.cfg.Atrium.PluginHost.UnmaintainedAfter
	if e.Unmaintained(time.Now(), after) {
		fmt.Fprintf(w, "WARNING: possibly unmaintained: no release for more than %d days (atrium.pluginHost.unmaintainedAfter)\n", int(after.Hours()/24))
	}
	if m, err := pc.set.Store.Current(id); err == nil {
		fmt.Fprintf(w, "%-11s %s\n", "Installed:", m.Version)
	}
	m := pluginhost.MatrixFor(e, pc.api, pluginhost.Platform)
	fmt.Fprintf(w, "\nCompatibility (plugin versions × Atrium plugin-API versions; this Atrium speaks %s on %s):\n", pc.api, pluginhost.Platform)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "VERSION\tRELEASED\tAPI RANGE")
	for i, v := range m.APIVersions {
		mark := ""
		if i == m.Current {
			mark = "*"
		}
		fmt.Fprintf(tw, "\tAPI %s%s", v, mark)
	}
	fmt.Fprintf(tw, "\t%s\n", strings.ToUpper(pluginhost.Platform))
	for _, r := range m.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s", r.Version, r.ReleasedAt.Format(time.DateOnly), r.APIVersions)
		for _, ok := range r.Supported {
			fmt.Fprintf(tw, "\t%s", yesNo(ok))
		}
		fmt.Fprintf(tw, "\t%s\n", yesNo(r.Platform))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "* this Atrium")
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// install installs ID or ID@VERSION (default: the newest compatible).
func (pc *pluginCLI) install(ctx context.Context, arg string) error {
	id, version, _ := strings.Cut(arg, "@")
	idx, e, err := pc.entry(ctx, id)
	if err != nil {
		return err
	}
	var r *pluginhost.Release
	if version == "" {
		c := e.Compatible(pc.api, pluginhost.Platform)
		if len(c) == 0 {
			return fmt.Errorf("no version of %s works with this Atrium (plugin API %s, %s); see atrium plugin info %s", id, pc.api, pluginhost.Platform, id)
		}
		r = c[0]
	} else {
		var ok bool
		if r, ok = e.Release(version); !ok {
			var all []string
			for _, v := range e.Versions {
				all = append(all, v.Version)
			}
			return fmt.Errorf("%s has no version %q; the registry lists %s", id, version, strings.Join(all, ", "))
		}
	}
	if cur, err := pc.set.Store.Current(id); err == nil && cur.Version == r.Version {
		fmt.Fprintf(pc.stdout, "%s %s is already installed\n", id, cur.Version)
		return nil
	}
	return pc.installRelease(ctx, "plugin.install", idx, e, r)
}

func (pc *pluginCLI) upgrade(ctx context.Context, id string) error {
	cur, err := pc.set.Store.Current(id)
	if err != nil {
		return fmt.Errorf("%w (atrium plugin install %s installs it)", err, id)
	}
	idx, e, err := pc.entry(ctx, id)
	if err != nil {
		return err
	}
	c := e.Compatible(pc.api, pluginhost.Platform)
	installed := semver.MustParse(cur.Version)
	if len(c) == 0 || !semver.MustParse(c[0].Version).GreaterThan(installed) {
		msg := fmt.Sprintf("%s %s is the newest version that works with this Atrium", id, cur.Version)
		if len(e.Versions) > 0 && semver.MustParse(e.Versions[0].Version).GreaterThan(installed) {
			msg += fmt.Sprintf(" (%s needs plugin API %s; this Atrium speaks %s)", e.Versions[0].Version, e.Versions[0].APIVersions, pc.api)
		}
		fmt.Fprintln(pc.stdout, msg)
		return nil
	}
	return pc.installRelease(ctx, "plugin.upgrade", idx, e, c[0])
}

func (pc *pluginCLI) installRelease(ctx context.Context, action string, idx *pluginhost.Index, e *pluginhost.Entry, r *pluginhost.Release) error {
	from := ""
	if cur, err := pc.set.Store.Current(e.ID); err == nil {
		from = cur.Version
	}
	return pc.audited(ctx, action, e.ID, map[string]any{"version": r.Version, "from": from}, func() error {
		bar := &progressBar{w: pc.stderr, label: fmt.Sprintf("downloading %s %s", e.ID, r.Version)}
		m, err := pc.set.Store.Install(ctx, pluginhost.InstallParams{
			Index: idx, Entry: e, Release: r, API: pc.api, Platform: pluginhost.Platform, Fetcher: pc.set.Fetcher, Progress: bar.report,
		})
		bar.done(err)
		if err != nil {
			return err
		}
		verb := "installed"
		if from != "" {
			verb = "upgraded from " + from + " to"
		}
		fmt.Fprintf(pc.stdout, "%s %s %s (sha256 %s verified) in %s\n", verb, m.ID, m.Version, m.SHA256, filepath.Dir(m.Path))
		fmt.Fprintf(pc.stdout, "a running Atrium picks it up within %s, without a restart\n", pc.cfg.Atrium.PluginHost.WatchInterval)
		return nil
	})
}

func (pc *pluginCLI) remove(ctx context.Context, id string) error {
	cur, err := pc.set.Store.Current(id)
	if err != nil {
		return err
	}
	return pc.audited(ctx, "plugin.remove", id, map[string]any{"version": cur.Version}, func() error {
		if err := pc.set.Store.Remove(id); err != nil {
			return err
		}
		fmt.Fprintf(pc.stdout, "removed %s %s; a running Atrium stops it within %s, after the calls in flight finish\n", id, cur.Version, pc.cfg.Atrium.PluginHost.WatchInterval)
		return nil
	})
}

// audited runs op and records it in the audit log of the configured
// database, as service:atrium-cli.
func (pc *pluginCLI) audited(ctx context.Context, action, id string, details map[string]any, op func() error) error {
	cfg := *pc.cfg
	cfg.Atrium.Demo = false
	cfg.Atrium.Secrets.GitCheck = false
	logger := slog.New(slog.NewTextHandler(pc.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(ctx, &cfg, app.Options{Logger: logger, NoServer: true})
	if err != nil {
		return fmt.Errorf("opening the database for the audit log: %w", err)
	}
	defer a.Close()
	opErr := op()
	ev := audit.Event{Action: action, Resource: "plugin:" + id, Outcome: audit.Succeeded, Details: details}
	if opErr != nil {
		ev.Outcome = audit.Failed
		details["error"] = opErr.Error()
	}
	actx := auth.WithPrincipal(audit.WithLog(ctx, a.Audit()), &auth.Principal{Type: auth.PrincipalService, Ref: "service:atrium-cli", Via: "cli"})
	if err := audit.Record(actx, ev); err != nil {
		return errors.Join(opErr, fmt.Errorf("recording %s in the audit log: %w", action, err))
	}
	return opErr
}

// list shows installed plugins and, when a server on this directory is
// running, every plugin's live state.
func (pc *pluginCLI) list() error {
	manifests, broken := pc.set.Store.List()
	live := map[string]pluginhost.Stats{}
	var builtins []pluginhost.Stats
	fresh := false
	if data, err := os.ReadFile(filepath.Join(pc.set.Store.Dir, pluginhost.StatusFile)); err == nil {
		var st pluginhost.Status
		max := 3 * pc.cfg.Atrium.PluginHost.HealthInterval
		if json.Unmarshal(data, &st) == nil && time.Since(st.UpdatedAt) < max {
			fresh = true
			for _, p := range st.Plugins {
				if p.Kind == "builtin" {
					builtins = append(builtins, p)
				} else {
					live[p.ID] = p
				}
			}
		}
	}
	if !fresh {
		// No server: the table of built-ins and their configuration.
		for _, b := range plugins.Builtins() {
			state := pluginhost.State("enabled (server not running)")
			if e := pc.cfg.Plugins[b.ID].Enabled; e != nil && !*e {
				state = pluginhost.StateDisabled
			}
			builtins = append(builtins, pluginhost.Stats{ID: b.ID, Version: b.New(plugins.Deps{}).Info().Version, State: state})
		}
	}
	tw := tabwriter.NewWriter(pc.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVERSION\tKIND\tSTATE\tUPTIME\tRESTARTS\tMEMORY\tLAST ERROR")
	for _, b := range builtins {
		fmt.Fprintf(tw, "%s\t%s\tbuilt-in\t%s\t-\t-\t-\t-\n", b.ID, b.Version, b.State)
	}
	for _, m := range manifests {
		state, uptime, restarts, mem, lastErr := "installed (server not running)", "-", "-", "-", "-"
		if fresh {
			state = "not loaded yet"
			if st, ok := live[m.ID]; ok {
				state = string(st.State)
				if st.Version != m.Version {
					state += " " + st.Version + " (switching to " + m.Version + ")"
				}
				if st.StartedAt != nil {
					uptime = (time.Duration(st.UptimeSeconds) * time.Second).String()
				}
				restarts = fmt.Sprint(st.Restarts)
				mem = fmt.Sprintf("%d/%d MiB", st.RSSBytes>>20, st.MemoryLimit>>20)
				if st.LastError != "" {
					lastErr = st.LastError
				}
			}
		}
		fmt.Fprintf(tw, "%s\t%s\texternal\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.Version, state, uptime, restarts, mem, lastErr)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(manifests) == 0 {
		fmt.Fprintf(pc.stdout, "no external plugins installed in %s\n", pc.set.Store.Dir)
	}
	for _, err := range broken {
		fmt.Fprintf(pc.stderr, "broken installation: %v\n", err)
	}
	return nil
}

// progressBar prints download progress on one line, at most every 5%.
type progressBar struct {
	w      io.Writer
	label  string
	last   int
	shown  bool
	lastAt time.Time
}

func (p *progressBar) report(done, total int64) {
	if total <= 0 {
		if time.Since(p.lastAt) > 500*time.Millisecond {
			p.lastAt = time.Now()
			p.shown = true
			fmt.Fprintf(p.w, "\r%s: %.1f MiB", p.label, float64(done)/(1<<20))
		}
		return
	}
	pct := int(done * 100 / total)
	if pct < p.last+5 && pct != 100 || pct == p.last && p.shown {
		return
	}
	p.last, p.shown = pct, true
	const width = 30
	bar := strings.Repeat("#", pct*width/100) + strings.Repeat(".", width-pct*width/100)
	fmt.Fprintf(p.w, "\r%s [%s] %3d%% of %.1f MiB", p.label, bar, pct, float64(total)/(1<<20))
}

func (p *progressBar) done(err error) {
	if p.shown {
		fmt.Fprintln(p.w)
	}
}
