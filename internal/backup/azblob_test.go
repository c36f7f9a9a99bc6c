package backup

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBlob speaks the Blob REST calls the target uses (Put Blob, Put Block,
// Put Block List, List Blobs, Get Blob, Delete Blob) for one account, so
// that the real azblob client is exercised on 127.0.0.1.
type fakeBlob struct {
	t       *testing.T
	account string

	mu        sync.Mutex
	blobs     map[string][]byte            // container/name → committed content
	staged    map[string]map[string][]byte // container/name → block id → data
	puts      int
	blockPuts int
}

func newFakeBlob(t *testing.T, account string) (*fakeBlob, *httptest.Server) {
	f := &fakeBlob{t: t, account: account, blobs: map[string][]byte{}, staged: map[string]map[string][]byte{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeBlob) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "SharedKey "+f.account+":") {
		http.Error(w, "no shared key", http.StatusForbidden)
		return
	}
	if r.Header.Get("x-ms-version") == "" {
		http.Error(w, "no x-ms-version", http.StatusBadRequest)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/"+f.account+"/")
	if !ok {
		http.Error(w, "wrong account", http.StatusNotFound)
		return
	}
	container, blob, _ := strings.Cut(rest, "/")
	key := container + "/" + blob
	q := r.URL.Query()
	w.Header().Set("x-ms-request-id", "fake")
	w.Header().Set("x-ms-version", r.Header.Get("x-ms-version"))
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == "GET" && q.Get("restype") == "container" && q.Get("comp") == "list":
		f.list(w, container, q.Get("prefix"))
	case r.Method == "PUT" && q.Get("comp") == "block":
		data, _ := io.ReadAll(r.Body)
		if f.staged[key] == nil {
			f.staged[key] = map[string][]byte{}
		}
		f.staged[key][q.Get("blockid")] = data
		f.blockPuts++
		w.WriteHeader(http.StatusCreated)
	case r.Method == "PUT" && q.Get("comp") == "blocklist":
		var list struct {
			Latest []string `xml:"Latest"`
		}
		if err := xml.NewDecoder(r.Body).Decode(&list); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var buf bytes.Buffer
		for _, id := range list.Latest {
			b, ok := f.staged[key][id]
			if !ok {
				http.Error(w, "InvalidBlockList", http.StatusBadRequest)
				return
			}
			buf.Write(b)
		}
		f.blobs[key] = buf.Bytes()
		delete(f.staged, key)
		f.created(w)
	case r.Method == "PUT" && q.Get("comp") == "":
		if r.Header.Get("x-ms-blob-type") != "BlockBlob" {
			http.Error(w, "x-ms-blob-type", http.StatusBadRequest)
			return
		}
		data, _ := io.ReadAll(r.Body)
		f.blobs[key] = data
		f.puts++
		f.created(w)
	case r.Method == "GET":
		data, ok := f.blobs[key]
		if !ok {
			w.Header().Set("x-ms-error-code", "BlobNotFound")
			http.Error(w, "BlobNotFound", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Header().Set("x-ms-blob-type", "BlockBlob")
		w.Header().Set("ETag", `"0x1"`)
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusOK)
		w.Write(data)
	case r.Method == "DELETE":
		if _, ok := f.blobs[key]; !ok {
			w.Header().Set("x-ms-error-code", "BlobNotFound")
			http.Error(w, "BlobNotFound", http.StatusNotFound)
			return
		}
		delete(f.blobs, key)
		w.WriteHeader(http.StatusAccepted)
	default:
		http.Error(w, "unexpected "+r.Method+" "+r.URL.String(), http.StatusNotImplemented)
	}
}

func (f *fakeBlob) created(w http.ResponseWriter) {
	w.Header().Set("ETag", `"0x1"`)
	w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusCreated)
}

func (f *fakeBlob) list(w http.ResponseWriter, container, prefix string) {
	var names []string
	for k := range f.blobs {
		c, name, _ := strings.Cut(k, "/")
		if c == container && strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName=%q><Prefix>%s</Prefix><Blobs>`, container, prefix)
	for _, n := range names {
		fmt.Fprintf(&b, `<Blob><Name>%s</Name><Properties><Content-Length>%d</Content-Length><BlobType>BlockBlob</BlobType></Properties></Blob>`, n, len(f.blobs[container+"/"+n]))
	}
	b.WriteString(`</Blobs><NextMarker /></EnumerationResults>`)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, b.String())
}

// testDB makes a small SQLite database with a schema_migrations table.
func testDB(t *testing.T, path string, rows int) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
		"INSERT INTO schema_migrations VALUES (1, '0001_init.sql', 0)",
		"CREATE TABLE items (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < rows; i++ {
		if _, err := db.Exec("INSERT INTO items (body) VALUES (?)", strings.Repeat(fmt.Sprint(i), 100)); err != nil {
			t.Fatal(err)
		}
	}
}

func countItems(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM items").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAzure: a backup goes to Blob Storage under the prefix, is listed,
// restored and pruned through the real client against the fake.
func TestAzure(t *testing.T) {
	ctx := context.Background()
	fake, srv := newFakeBlob(t, "acct")
	key := base64.StdEncoding.EncodeToString([]byte("not-a-real-key-0123456789abcdef"))
	target, err := OpenTarget("azblob://acct/backups/atrium/prod", AzureConfig{AccountKey: key, Endpoint: srv.URL + "/acct"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := target.String(), "azblob://acct/backups/atrium/prod"; got != want {
		t.Errorf("String: got %q, want %q", got, want)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	testDB(t, src, 50)
	clock := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	var names []string
	for i := 0; i < 3; i++ {
		now := clock.Add(time.Duration(i) * time.Hour)
		res, err := Create(ctx, Params{
			Source: Source{Engine: EngineSQLite, SQLitePath: src, DataDir: filepath.Join(dir, "data")},
			Target: target, Keep: 2, AtriumVersion: "v1.2.3", Now: func() time.Time { return now },
		})
		if err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		names = append(names, res.Name)
	}
	list, err := target.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	newestFirst(list)
	if len(list) != 2 || list[0].Name != names[2] || list[1].Name != names[1] || list[0].Size == 0 {
		t.Errorf("after retention: got %+v, want %v", list, names[1:])
	}
	fake.mu.Lock()
	if _, ok := fake.blobs["backups/atrium/prod/"+names[2]]; !ok {
		t.Errorf("blob names: got %v, want the prefix atrium/prod/", keys(fake.blobs))
	}
	fake.mu.Unlock()

	dst := filepath.Join(dir, "dst.db")
	testDB(t, dst, 1)
	m, err := Restore(ctx, RestoreParams{Source: Source{Engine: EngineSQLite, SQLitePath: dst}, Target: target, Migrations: []int{1}})
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if m.AtriumVersion != "v1.2.3" || m.Rows("items") != 50 || !m.Created.Equal(clock.Add(2*time.Hour)) {
		t.Errorf("manifest: got %+v", m)
	}
	if got := countItems(t, dst); got != 50 {
		t.Errorf("restored rows: got %d, want 50", got)
	}

	// A schema this atrium does not know is refused before anything changes.
	testDB(t, filepath.Join(dir, "other.db"), 3)
	_, err = Restore(ctx, RestoreParams{Source: Source{Engine: EngineSQLite, SQLitePath: filepath.Join(dir, "other.db")}, Target: target, Migrations: []int{}})
	if err == nil || !strings.Contains(err.Error(), "schema migration 1") {
		t.Errorf("unknown migration: got %v", err)
	}
	if got := countItems(t, filepath.Join(dir, "other.db")); got != 3 {
		t.Errorf("rows after a refused restore: got %d, want 3", got)
	}
}

// TestAzureCutShort: an upload that fails midway leaves staged blocks
// only, which List does not show.
func TestAzureCutShort(t *testing.T) {
	ctx := context.Background()
	fake, srv := newFakeBlob(t, "acct")
	key := base64.StdEncoding.EncodeToString([]byte("k"))
	target, err := OpenTarget("azblob://acct/backups", AzureConfig{AccountKey: key, Endpoint: srv.URL + "/acct/"})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk gone")
	r := io.MultiReader(io.LimitReader(zeros{}, 9<<20), errReader{boom})
	if err := target.Put(ctx, Name(time.Now()), r); err == nil {
		t.Fatal("Put of a failing reader succeeded")
	}
	list, err := target.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Errorf("listed after a failed upload: %+v", list)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if fake.blockPuts == 0 {
		t.Error("no block was staged: the test did not cut an upload short")
	}
}

func TestAzureConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		to   string
		az   AzureConfig
		want string
	}{
		{"azblob://acct", AzureConfig{AccountKey: "a2V5"}, "want azblob://account/container"},
		{"azblob://acct/c", AzureConfig{}, "needs atrium.backup.azure.accountKey or sasToken"},
		{"azblob://acct/c", AzureConfig{AccountKey: "not base64!"}, "atrium.backup.azure.accountKey"},
		{"s3://bucket/x", AzureConfig{}, "want a folder or azblob://"},
		{"", AzureConfig{}, "backup target is empty"},
	} {
		_, err := OpenTarget(tc.to, tc.az)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("OpenTarget(%q): got %v, want %q", tc.to, err, tc.want)
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
