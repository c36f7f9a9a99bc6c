package breaker_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/breaker"
)

func TestBreaker(t *testing.T) {
	b := breaker.New("AWX", 2, 50*time.Millisecond)
	b.Record(true)
	if err := b.Allow(); err != nil {
		t.Fatalf("open after one failure of two: %v", err)
	}
	b.Record(true)
	err := b.Allow()
	var open *breaker.OpenError
	if !errors.As(err, &open) || open.Failures != 2 || !strings.Contains(err.Error(), "AWX is treated as down after 2 failed requests") {
		t.Fatalf("after two failures: %v", err)
	}
	time.Sleep(60 * time.Millisecond)
	if err := b.Allow(); err != nil {
		t.Fatalf("the probe after the cooldown was refused: %v", err)
	}
	if err := b.Allow(); err == nil {
		t.Fatal("a second request went out while the probe runs")
	}
	b.Record(false)
	if err := b.Allow(); err != nil {
		t.Fatalf("closed after a good probe: %v", err)
	}
	var none *breaker.Breaker
	none.Record(true)
	if none.Allow() != nil || (&breaker.Breaker{}).Allow() != nil {
		t.Error("a nil or zero breaker refused")
	}
}

// TestStates: every breaker is listed by system with its state, its
// refusal is ErrOpen and says which system and why, and a rebuilt
// client's breaker replaces the old one.
func TestStates(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	old := breaker.New("GitLab states.test", 3, time.Minute)
	old.Record(true)
	b := breaker.New("GitLab states.test", 2, time.Minute)
	b.Now = func() time.Time { return now }
	b.Record(true)
	b.Record(true)
	err := b.Allow()
	if !errors.Is(err, breaker.ErrOpen) || err.Error() != "GitLab states.test is treated as down after 2 failed requests in a row; the next try is at 10:01:00 (circuit breaker)" {
		t.Errorf("open: got %v", err)
	}
	var got []breaker.State
	for _, s := range breaker.States() {
		if s.System == "GitLab states.test" {
			got = append(got, s)
		}
	}
	if len(got) != 1 || !got[0].Open || got[0].Failures != 2 {
		t.Errorf("States: got %+v, want the newer breaker, open after 2 failures", got)
	}
	now = now.Add(time.Minute)
	if err := b.Allow(); err != nil {
		t.Fatalf("probe: %v", err)
	}
	b.Record(false)
	if s := b.State(); s.Open || s.Failures != 0 {
		t.Errorf("after a good probe: got %+v, want closed", s)
	}
}
