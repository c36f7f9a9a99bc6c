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
