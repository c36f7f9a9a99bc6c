package plugin_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/plugin"
)

func TestAbandoned(t *testing.T) {
	cancelled, cancel := context.WithCancelCause(context.Background())
	cancel(plugin.ErrTaskCancelled)
	timedOut, cancel2 := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel2()
	<-timedOut.Done()
	stopped, cancel3 := context.WithCancelCause(context.Background())
	cancel3(errors.New("stop initiated")) // River's shutdown
	plain, cancel4 := context.WithCancel(context.Background())
	cancel4()
	for name, tc := range map[string]struct {
		ctx  context.Context
		want bool
	}{
		"task cancelled": {cancelled, true},
		"step timed out": {timedOut, true},
		"queue stopping": {stopped, false},
		"plain cancel":   {plain, false},
		"still running":  {context.Background(), false},
	} {
		if got := plugin.Abandoned(tc.ctx); got != tc.want {
			t.Errorf("%s: Abandoned = %v, want %v", name, got, tc.want)
		}
	}
}
