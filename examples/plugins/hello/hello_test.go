package main

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugin/plugintest"
)

func TestGreet(t *testing.T) {
	plugintest.Both(t, New(), func(t *testing.T, p plugin.Plugin) {
		plugintest.Provision(t, p, map[string]any{"greeting": "Hello"})
		res := plugintest.RunAction(t, p, "hello:greet", map[string]any{"name": "Ada"})
		if res.Err != nil {
			t.Fatalf("hello:greet: %v", res.Err)
		}
		want := map[string]any{"greeting": "Hello, Ada!", "path": "hello.txt"}
		if !reflect.DeepEqual(res.Outputs, want) {
			t.Errorf("outputs = %v, want %v", res.Outputs, want)
		}
		b, err := os.ReadFile(filepath.Join(res.Workspace, "hello.txt"))
		if err != nil || string(b) != "Hello, Ada!\n" {
			t.Errorf("hello.txt = %q, %v", b, err)
		}
	})
}

func TestGreetBadInput(t *testing.T) {
	plugintest.Both(t, New(), func(t *testing.T, p plugin.Plugin) {
		plugintest.Provision(t, p, nil)
		for i, in := range []map[string]any{
			{},
			{"name": "Ada", "file": "../outside.txt"},
		} {
			res := plugintest.RunAction(t, p, "hello:greet", in)
			if got := plugin.KindOf(res.Err); got != plugin.ErrInvalid {
				t.Errorf("%d: kind = %s (%v), want %s", i, got, res.Err, plugin.ErrInvalid)
			}
		}
	})
}

func TestGreeters(t *testing.T) {
	plugintest.Both(t, New(), func(t *testing.T, p plugin.Plugin) {
		plugintest.Provision(t, p, map[string]any{"refresh": "20ms", "owner": "group:default/team-a"})
		muts := plugintest.Mutations(t, p, "hello-greeters", 3, 5*time.Second)
		if muts[0].Type != plugin.MutationFull || len(muts[0].Entities) != len(GreeterNames) {
			t.Fatalf("first mutation: %s with %d entities", muts[0].Type, len(muts[0].Entities))
		}
		for _, m := range muts[1:] {
			if m.Type != plugin.MutationDelta || len(m.Entities) != 1 {
				t.Errorf("later mutation: %s with %d entities, want a delta of 1", m.Type, len(m.Entities))
			}
		}
	})
}

func TestGreetingCard(t *testing.T) {
	var views []plugin.View
	plugintest.Both(t, New(), func(t *testing.T, p plugin.Plugin) {
		plugintest.Provision(t, p, nil)
		v, err := plugintest.RenderCard(t, p, "greeting", map[string]any{
			"kind": "Component", "metadata": map[string]any{"name": "svc"}, "spec": map[string]any{"lifecycle": "experimental"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Blocks[1].Badges[0].Status; got != plugin.StatusWarning {
			t.Errorf("badge status = %s, want %s", got, plugin.StatusWarning)
		}
		views = append(views, v)
	})
	if len(views) == 2 && !reflect.DeepEqual(views[0], views[1]) {
		t.Errorf("in-process and gRPC views differ:\n%+v\n%+v", views[0], views[1])
	}
}

func TestConfigRejected(t *testing.T) {
	h := New()
	err := h.Provision(t.Context(), plugin.Host{}, []byte(`{"refresh": "soon"}`))
	if plugin.KindOf(err) != plugin.ErrInvalid {
		t.Errorf("Provision with a bad refresh: %v, want invalid", err)
	}
}

func TestGreetingsWebhook(t *testing.T) {
	plugintest.Both(t, New(), func(t *testing.T, p plugin.Plugin) {
		plugintest.Provision(t, p, map[string]any{"webhookToken": "s3cret-token"})
		sub := p.Components().Subscribers[0]
		for i, tc := range []struct {
			token, body    string
			verify, handle plugin.ErrorKind // "" for no error
		}{
			{"s3cret-token", `{"name":"Ada"}`, "", ""},
			{"wrong", `{"name":"Ada"}`, plugin.ErrUnauthorized, ""},
			{"s3cret-token", `{}`, "", plugin.ErrInvalid},
		} {
			ev := plugin.Event{Path: "x", Headers: http.Header{TokenHeader: {tc.token}}, Body: []byte(tc.body)}
			if err := sub.Verify(t.Context(), ev); kindOrEmpty(err) != tc.verify {
				t.Errorf("%d: Verify = %v, want kind %q", i, err, tc.verify)
				continue
			}
			if tc.verify != "" {
				continue
			}
			if err := sub.Handle(t.Context(), ev); kindOrEmpty(err) != tc.handle {
				t.Errorf("%d: Handle = %v, want kind %q", i, err, tc.handle)
			}
		}
	})
}

func kindOrEmpty(err error) plugin.ErrorKind {
	if err == nil {
		return ""
	}
	return plugin.KindOf(err)
}
