package pluginhost

import (
	"testing"

	"github.com/atrium-portal/atrium/internal/pluginhost/pluginhosttest"
)

type testRelease = pluginhosttest.Release

// testRegistry is pluginhosttest's HTTPS registry with a Fetcher for it.
type testRegistry struct{ *pluginhosttest.Registry }

func newTestRegistry(t testing.TB) *testRegistry {
	return &testRegistry{pluginhosttest.NewRegistry(t)}
}

// Fetcher returns a Fetcher trusting and allowing the registry.
func (r *testRegistry) Fetcher() *Fetcher {
	return &Fetcher{AllowedHosts: []string{r.Host()}, RootCAs: r.CertPool()}
}

func (r *testRegistry) publish(id string, rels ...testRelease) { r.Publish(id, rels...) }

func buildTestPlugin(t testing.TB, version, apiVersions string) []byte {
	return pluginhosttest.BuildPlugin(t, version, apiVersions)
}
