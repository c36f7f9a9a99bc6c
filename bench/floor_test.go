package main

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the floor server, as the
// harness's own binary does (startFloor runs os.Executable()).
func TestMain(m *testing.M) {
	if body := os.Getenv(floorEnv); body != "" {
		if err := floorServe(body); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

func TestMeasureFloorAnswersWithTheBody(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	body := []byte(`{"kind":"Component","metadata":{"name":"x"}}`)
	ep := endpoint{Name: "by-name", Path: func(*rand.Rand) string { return "/api/catalog/entities/by-name/component/default/x" }}

	bodyFile := dir + "/b.json"
	if err := os.WriteFile(bodyFile, body, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := startFloor(ctx, bodyFile)
	if err != nil {
		t.Fatal(err)
	}
	code, got, err := newClient(f.BaseURL, 1, 0).get(ctx, ep.Path(nil))
	f.Stop()
	if err != nil || code != 200 || string(got) != string(body) {
		t.Fatalf("floor answer: %d %q %v, want 200 %q", code, got, err, body)
	}

	st, err := measureFloor(ctx, loadParams{
		Client: newClient("http://127.0.0.1:1", 2, 0), Endpoint: ep, Clients: 2,
		Duration: 100 * time.Millisecond, Seed: 1,
	}, body, dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Requests == 0 || st.Errors != 0 || st.Name != "floor (by-name)" {
		t.Errorf("floor load: got %+v, want requests without errors", st)
	}
	if st.ServerCPUus <= 0 {
		t.Errorf("floor load: no server CPU per request measured: %+v", st)
	}
}
