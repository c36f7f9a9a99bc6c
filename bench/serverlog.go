package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"slices"
	"time"
)

// logSize returns the size of the server's log so far; -1 when unknown.
func logSize(path string) int64 {
	if path == "" {
		return -1
	}
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// handlerTimes returns, sorted, the "ms" of the server's access log lines
// ("msg":"http") written between the byte offsets from and to of the log
// at path: how long each request took inside the server, from the access
// log middleware's start to its log line. Latency seen by the client on
// top of that is spent in the kernel's network stack, in net/http's
// reading and writing of the connection, and waiting for a core (the
// server's threads, the client's, everything else on the machine).
func handlerTimes(path string, from, to int64) ([]time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(io.NewSectionReader(f, from, to-from))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var out []time.Duration
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"msg":"http"`)) {
			continue
		}
		var rec struct {
			Msg string  `json:"msg"`
			Ms  float64 `json:"ms"`
		}
		if json.Unmarshal(line, &rec) != nil || rec.Msg != "http" {
			continue
		}
		out = append(out, time.Duration(rec.Ms*float64(time.Millisecond)))
	}
	slices.Sort(out)
	return out, sc.Err()
}
