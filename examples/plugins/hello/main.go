// Command hello is Atrium's example plugin: a scaffolder action
// (hello:greet), an entity provider (hello-greeters) and an entity card
// (greeting). Atrium starts it as an external plugin; see docs/plugins.md.
package main

import "github.com/atrium-portal/atrium/plugin"

func main() { plugin.Serve(New()) }
