package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

type testKey struct{ n int }

func TestSetRequestValue(t *testing.T) {
	var inner, after any
	var set [4]bool
	h := WithRequestID(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		set[0] = SetRequestValue(ctx, testKey{1}, "one")
		set[1] = SetRequestValue(ctx, testKey{1}, "again") // already answered
		set[2] = SetRequestValue(ctx, testKey{2}, "two")
		set[3] = SetRequestValue(ctx, testKey{3}, "three") // no free slot
		derived, cancel := context.WithCancel(ctx)
		defer cancel()
		inner = derived.Value(testKey{2})
		after = ctx.Value(testKey{1})
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if want := [4]bool{true, false, true, false}; set != want {
		t.Errorf("got %v, want %v", set, want)
	}
	if inner != "two" {
		t.Errorf("got %v, want two", inner)
	}
	if after != "one" {
		t.Errorf("got %v, want one", after)
	}

	// A context that already answers the key keeps its value.
	h = WithRequestID(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), testKey{1}, "outer")
		if SetRequestValue(ctx, testKey{1}, "state") {
			t.Error("set a key a closer context answers")
		}
		if got := ctx.Value(testKey{1}); got != "outer" {
			t.Errorf("got %v, want outer", got)
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))

	if SetRequestValue(context.Background(), testKey{1}, "x") {
		t.Error("set a value without a request state")
	}
}
