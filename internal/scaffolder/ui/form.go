package ui

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// Form is a template's parameter pages laid out for values.
type Form struct {
	Pages []*Page
}

// Page is one step of the form.
type Page struct {
	Index              int
	Title, Description string
	Fields             []*Field
	schema             map[string]any
}

// state is what a form is drawn with: the values (secrets in clear), the
// raw text of inputs that could not be converted, and errors by input name.
type state struct {
	values map[string]any
	raw    map[string]string
	errs   map[string]string
}

// pageTitle is a page's title, or "Step n".
func pageTitle(i int, s map[string]any) string {
	if t := str(s, "title"); t != "" {
		return t
	}
	return fmt.Sprintf("Step %d", i+1)
}

// buildForm lays out every page with st's values and errors.
func buildForm(pages []map[string]any, st state) *Form {
	f := &Form{}
	for i, s := range pages {
		f.Pages = append(f.Pages, &Page{
			Index: i, Title: pageTitle(i, s), Description: str(s, "description"), schema: s,
			Fields: buildFields(nil, s, st.values, st),
		})
	}
	return f
}

func buildFields(path []string, s, obj map[string]any, st state) []*Field {
	var out []*Field
	for _, p := range objectProps(s) {
		fp := append(append([]string{}, path...), p.name)
		f := newField(fp, p)
		f.Hidden = !p.cond.holds(obj)
		v, has := obj[p.name]
		if !has && f.hasDefault && f.Hidden {
			v, has = f.defaultValue, true
		}
		switch f.Widget {
		case wObject:
			f.Fields = buildFields(fp, p.schema, asMap(v), st)
		case wCheckbox:
			f.Checked = v == true
		case wChecks, wList, wTags:
			for _, x := range asList(v) {
				f.Items = append(f.Items, scalarString(x))
			}
		case wRepoURL:
			f.Host = f.Picker.AllowedHosts[0]
			if s, ok := v.(string); ok && s != "" {
				f.Host, f.Owner, f.Repo = parseRepoURL(s)
			}
			if r, ok := st.raw[f.Name+"#host"]; ok {
				f.Host = r
			}
			if r, ok := st.raw[f.Name+"#owner"]; ok {
				f.Owner = r
			}
			if r, ok := st.raw[f.Name+"#repo"]; ok {
				f.Repo = r
			}
		case wJSON:
			if has {
				b, _ := json.MarshalIndent(v, "", "  ")
				f.Value = string(b)
			}
		default:
			if has {
				f.Value = scalarString(v)
			}
		}
		if r, ok := st.raw[f.Name]; ok {
			f.Value = r
		}
		for i := range f.Options {
			o := &f.Options[i]
			o.Selected = f.Value == o.Value
		}
		f.Error = st.errs[f.Name]
		out = append(out, f)
	}
	return out
}

// parseRepoURL splits "host?owner=o&repo=r".
func parseRepoURL(s string) (host, owner, repo string) {
	host, query, _ := strings.Cut(s, "?")
	q, _ := url.ParseQuery(query)
	return host, q.Get("owner"), q.Get("repo")
}

// defaults are the values a new form starts with: every property's
// default, nested objects included.
func defaults(pages []map[string]any) map[string]any {
	out := map[string]any{}
	for _, s := range pages {
		fillDefaults(s, out)
	}
	return out
}

func fillDefaults(s, obj map[string]any) {
	for _, p := range objectProps(s) {
		if _, set := obj[p.name]; set {
			continue
		}
		if d, ok := p.schema["default"]; ok {
			obj[p.name] = d
			continue
		}
		if str(p.schema, "type") == "object" {
			child := map[string]any{}
			fillDefaults(p.schema, child)
			if len(child) > 0 {
				obj[p.name] = child
			}
		}
	}
}

// decoder turns submitted inputs into values. Exists, when set, checks
// that an entity ref names a readable entity (pickers that do not allow
// arbitrary values).
type decoder struct {
	form   url.Values
	exists func(ref string) bool
	st     state
}

// decode reads every page's inputs. Values of conditional fields whose
// condition does not hold are left out, as the form hides them.
func decode(pages []map[string]any, form url.Values, exists func(string) bool) state {
	d := &decoder{form: form, exists: exists, st: state{values: map[string]any{}, raw: map[string]string{}, errs: map[string]string{}}}
	for _, s := range pages {
		d.object(nil, s, d.st.values)
	}
	return d.st
}

func (d *decoder) object(path []string, s, obj map[string]any) {
	props := objectProps(s)
	// Unconditional properties first: conditions look at them.
	for pass := 0; pass < 2; pass++ {
		for _, p := range props {
			if (p.cond == nil) != (pass == 0) || !p.cond.holds(obj) {
				continue
			}
			f := newField(append(append([]string{}, path...), p.name), p)
			if v, ok := d.field(f); ok {
				obj[p.name] = v
			}
		}
	}
}

func (d *decoder) fail(f *Field, raw, msg string) (any, bool) {
	d.st.raw[f.Name] = raw
	d.st.errs[f.Name] = msg
	return nil, false
}

func (d *decoder) field(f *Field) (any, bool) {
	if f.ReadOnly && f.hasDefault {
		return f.defaultValue, true
	}
	text := strings.TrimSpace(d.form.Get(f.Name))
	switch f.Widget {
	case wObject:
		child := map[string]any{}
		d.object(f.Path, f.schema, child)
		return child, true
	case wCheckbox:
		return text == "true", true
	case wSelect, wRadio:
		if text == "" {
			return nil, false
		}
		for _, o := range f.Options {
			if o.Value == text {
				return o.raw, true
			}
		}
		return d.fail(f, text, "Choose one of the listed values.")
	case wChecks:
		var out []any
		for _, v := range d.form[f.Name] {
			found := false
			for _, o := range f.Options {
				if o.Value == v {
					out, found = append(out, o.raw), true
				}
			}
			if !found {
				return d.fail(f, "", fmt.Sprintf("%q is not one of the listed values.", v))
			}
		}
		if out == nil {
			return nil, false
		}
		return out, true
	case wList, wTags:
		return d.list(f)
	case wRepoURL:
		return d.repoURL(f)
	case wNumber:
		if text == "" {
			return nil, false
		}
		return d.number(f, f.Type, text, "")
	case wJSON:
		if text == "" {
			return nil, false
		}
		var v any
		if err := json.Unmarshal([]byte(text), &v); err != nil {
			return d.fail(f, text, "Enter valid JSON: "+err.Error()+".")
		}
		return v, true
	case wEntity:
		if text == "" {
			return nil, false
		}
		return d.entity(f, text)
	case wSecret:
		// Secrets are taken as typed: spaces may matter.
		raw := d.form.Get(f.Name)
		if raw == "" {
			return nil, false
		}
		return raw, true
	}
	if text == "" {
		return nil, false
	}
	switch f.Type {
	case "integer", "number":
		return d.number(f, f.Type, text, "")
	case "boolean":
		return text == "true", true
	}
	if f.Widget == wTextarea {
		// Keep the text's own line breaks and indentation.
		return strings.TrimRight(d.form.Get(f.Name), " \t\r\n"), true
	}
	return text, true
}

func (d *decoder) number(f *Field, typ, text, item string) (any, bool) {
	if typ == "integer" {
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return d.fail(f, text, item+"Enter a whole number, not "+strconv.Quote(text)+".")
		}
		return n, true
	}
	n, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return d.fail(f, text, item+"Enter a number, not "+strconv.Quote(text)+".")
	}
	return n, true
}

// tagPattern is the catalog's rule for metadata.tags.
var tagPattern = regexp.MustCompile(`^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$`)

func (d *decoder) list(f *Field) (any, bool) {
	var out []any
	for i, raw := range d.form[f.Name] {
		text := strings.TrimSpace(raw)
		if text == "" {
			continue
		}
		switch {
		case f.Widget == wTags:
			if !tagPattern.MatchString(text) || len(text) > 63 {
				d.st.errs[f.Name] = fmt.Sprintf("Tag %q: use lowercase letters, digits, ':', '+' or '#' in words joined by '-', at most 63 characters.", text)
			}
			out = append(out, text)
		case f.itemType == "integer" || f.itemType == "number":
			v, ok := d.number(f, f.itemType, text, fmt.Sprintf("Item %d: ", i+1))
			if !ok {
				// Shown again as typed, with the error.
				delete(d.st.raw, f.Name)
				out = append(out, text)
				continue
			}
			out = append(out, v)
		default:
			out = append(out, text)
		}
	}
	if out == nil {
		if n, _ := f.schema["minItems"].(float64); n > 0 {
			// An empty list, so that minItems says what is missing.
			return []any{}, true
		}
		return nil, false
	}
	return out, true
}

func (d *decoder) repoURL(f *Field) (any, bool) {
	host := strings.TrimSpace(d.form.Get(f.Name + "#host"))
	owner := strings.TrimSpace(d.form.Get(f.Name + "#owner"))
	repo := strings.TrimSpace(d.form.Get(f.Name + "#repo"))
	if owner == "" && repo == "" {
		return nil, false
	}
	keep := func(msg string) (any, bool) {
		d.st.raw[f.Name+"#host"], d.st.raw[f.Name+"#owner"], d.st.raw[f.Name+"#repo"] = host, owner, repo
		d.st.errs[f.Name] = msg
		return nil, false
	}
	if host == "" {
		host = f.Picker.AllowedHosts[0]
	}
	allowed := false
	for _, h := range f.Picker.AllowedHosts {
		allowed = allowed || h == host
	}
	switch {
	case !allowed:
		return keep(fmt.Sprintf("Host %q is not allowed here; choose one of: %s.", host, strings.Join(f.Picker.AllowedHosts, ", ")))
	case owner == "":
		return keep("Enter the repository's owner.")
	case repo == "":
		return keep("Enter the repository's name.")
	case strings.ContainsAny(repo, "/?&#"):
		return keep("The repository name cannot contain '/', '?', '&' or '#'.")
	}
	return host + "?owner=" + url.QueryEscape(owner) + "&repo=" + url.QueryEscape(repo), true
}

// entity completes a typed ref with the picker's default kind and
// namespace, as the catalog writes refs ("group:default/team-a").
func (d *decoder) entity(f *Field, text string) (any, bool) {
	opts := f.Picker.options
	defKind := str(opts, "defaultKind")
	if defKind == "" && (f.Picker.Field == "OwnerPicker" || f.Picker.Field == "MyGroupsPicker") {
		defKind = "Group"
	}
	if defKind == "" {
		if kinds := pickerKinds(f.Picker); len(kinds) == 1 {
			defKind = kinds[0]
		}
	}
	ns := str(opts, "defaultNamespace")
	ref, err := catalog.ParseRef(text, catalog.RefDefaults{Kind: defKind, Namespace: ns})
	if err != nil || ref.Kind == "" {
		return d.fail(f, text, "Enter an entity reference such as group:default/team-a, or pick one from the suggestions.")
	}
	if ref.Namespace == "" {
		ref.Namespace = catalog.DefaultNamespace
	}
	out := strings.ToLower(ref.Kind) + ":" + ref.Namespace + "/" + ref.Name
	if allowed := pickerKinds(f.Picker); len(allowed) > 0 {
		ok := false
		for _, k := range allowed {
			ok = ok || strings.EqualFold(k, ref.Kind)
		}
		if !ok {
			return d.fail(f, text, fmt.Sprintf("Pick an entity of kind %s.", strings.Join(allowed, " or ")))
		}
	}
	if arb, set := opts["allowArbitraryValues"].(bool); set && !arb && d.exists != nil && !d.exists(out) {
		return d.fail(f, text, fmt.Sprintf("There is no entity %s in the catalog.", out))
	}
	return out, true
}

// pickerKinds are the kinds an entity picker offers: ui:options.allowedKinds,
// else the kind of its catalogFilter; OwnerPicker defaults to Group and User.
func pickerKinds(p *Picker) []string {
	if k := asStrings(p.options["allowedKinds"]); len(k) > 0 {
		return k
	}
	var kinds []string
	for _, f := range filterObjects(p.options["catalogFilter"]) {
		for key, v := range f {
			if strings.EqualFold(key, "kind") {
				switch x := v.(type) {
				case string:
					kinds = append(kinds, x)
				case []any:
					kinds = append(kinds, asStrings(x)...)
				}
			}
		}
	}
	if len(kinds) == 0 && p.Field == "OwnerPicker" {
		return []string{"Group", "User"}
	}
	if len(kinds) == 0 && p.Field == "MyGroupsPicker" {
		return []string{"Group"}
	}
	return kinds
}

// filterObjects reads catalogFilter: one object or a list of them.
func filterObjects(v any) []map[string]any {
	if m := asMap(v); m != nil {
		return []map[string]any{m}
	}
	var out []map[string]any
	for _, x := range asList(v) {
		if m := asMap(x); m != nil {
			out = append(out, m)
		}
	}
	return out
}

// pageValues are the values of one page's properties.
func pageValues(s map[string]any, values map[string]any) map[string]any {
	out := map[string]any{}
	for _, p := range objectProps(s) {
		if v, ok := values[p.name]; ok {
			out[p.name] = v
		}
	}
	return out
}

// splitSecrets moves the values of Secret fields into secrets, keyed by
// property name, and leaves a mask of the same length in the values (as
// Backstage does), so that required and length rules still hold.
func splitSecrets(form *Form, values map[string]any) (map[string]any, map[string]string) {
	out := cloneMap(values)
	secrets := map[string]string{}
	var walk func(fields []*Field, obj map[string]any)
	walk = func(fields []*Field, obj map[string]any) {
		for _, f := range fields {
			if obj == nil || f.Hidden {
				continue
			}
			switch {
			case f.Widget == wObject:
				walk(f.Fields, asMap(obj[f.Key()]))
			case f.Secret():
				if s, ok := obj[f.Key()].(string); ok {
					secrets[f.Key()] = s
					obj[f.Key()] = strings.Repeat(secretMask, len([]rune(s)))
				}
			}
		}
	}
	for _, p := range form.Pages {
		walk(p.Fields, out)
	}
	return out, secrets
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if c := asMap(v); c != nil {
			v = cloneMap(c)
		}
		out[k] = v
	}
	return out
}
