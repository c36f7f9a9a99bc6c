// Package tmpl renders the scaffolder's Nunjucks-style templates with gonja
// v2: `${{ }}` expressions in template YAML, and whole skeleton files in
// fetch:template.
//
// Rendering is sandboxed. Templates see only the data they are given: there
// is no loader (include, import, extends and from are not available), no
// environment and no network. Every render has a deadline, and the size of
// every value it produces, the number of loop iterations and the depth of
// macro calls are bounded (Limits). The parsed template is rewritten before
// it runs so that string repetition and concatenation, loops and output are
// all metered: a template cannot allocate its way out of the limits.
package tmpl
