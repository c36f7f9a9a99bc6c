package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// newHCLogger returns the hclog.Logger go-plugin wants, writing through
// logger: go-plugin's own messages and the plugin's stderr lines (which
// go-plugin parses) arrive as hclog JSON and leave as slog records.
func newHCLogger(logger *slog.Logger) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Output:     slogWriter{logger: logger},
		JSONFormat: true,
		Level:      hclog.Debug,
	})
}

// slogWriter turns hclog's JSON lines into slog records.
type slogWriter struct {
	logger *slog.Logger
}

func (w slogWriter) Write(p []byte) (int, error) {
	for line := range bytes.SplitSeq(bytes.TrimSpace(p), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			w.logger.Info(string(line))
			continue
		}
		msg, _ := rec["@message"].(string)
		lvl, _ := rec["@level"].(string)
		var attrs []slog.Attr
		for k, v := range rec {
			if strings.HasPrefix(k, "@") || k == "timestamp" {
				continue
			}
			attrs = append(attrs, slog.Any(k, v))
		}
		w.logger.LogAttrs(context.Background(), slogLevel(lvl), msg, attrs...)
	}
	return len(p), nil
}

func slogLevel(l string) slog.Level {
	switch strings.ToLower(l) {
	case "trace", "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
