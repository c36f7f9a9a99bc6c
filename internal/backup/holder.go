package backup

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// holder names this process as the one running a backup: the host name
// and the process id.
func holder() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s %d", host, os.Getpid())
}

// deadHolders returns those of holders that name a process of this host
// that no longer exists. A process of another host, or a process id that
// was reused, is left to the heartbeat.
func deadHolders(holders []string) []string {
	host, _ := os.Hostname()
	dead := []string{}
	for _, h := range holders {
		hh, p, ok := strings.Cut(h, " ")
		pid, err := strconv.Atoi(p)
		if !ok || hh != host || err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			dead = append(dead, h)
		}
	}
	return dead
}
