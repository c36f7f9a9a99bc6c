package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/atrium-portal/atrium/internal/engine"
)

// writeRaw answers 200 with JSON the engine encoded already, as WriteJSON
// would (a trailing newline included), without decoding it again.
func writeRaw(w http.ResponseWriter, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	_, _ = w.Write([]byte{'\n'})
}

// writeRawQuery answers a by-query page whose items are final JSON: the
// items are copied, the rest of resp (totalItems, pageInfo) is encoded.
func writeRawQuery(w http.ResponseWriter, items []*engine.Raw, resp queryResponse) {
	size := 64
	for _, it := range items {
		size += len(it.JSON) + 1
	}
	var buf bytes.Buffer
	buf.Grow(size + 512)
	buf.WriteString(`{"items":[`)
	for i, it := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(it.JSON)
	}
	buf.WriteByte(']')
	if resp.TotalItems != nil {
		buf.WriteString(`,"totalItems":`)
		buf.WriteString(strconv.Itoa(*resp.TotalItems))
	}
	pi, _ := json.Marshal(resp.PageInfo)
	buf.WriteString(`,"pageInfo":`)
	buf.Write(pi)
	buf.WriteByte('}')
	writeRaw(w, buf.Bytes())
}
