package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/store"
)

// auditTests are the audit log's conformance tests, run by Run.
var auditTests = []struct {
	name string
	fn   func(t *testing.T, d store.Driver)
}{
	{"AuditAppendChain", testAuditAppendChain},
	{"AuditConcurrentAppends", testAuditConcurrentAppends},
	{"AuditList", testAuditList},
	{"AuditPrune", testAuditPrune},
	{"AuditCountByHour", testAuditCountByHour},
}

var auditEpoch = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// appendAudit appends a record whose hash is a readable stand-in: the
// store keeps hashes, it does not compute them.
func appendAudit(t testing.TB, d store.Driver, at time.Time, actor, action, resource, outcome string) store.AuditRecord {
	t.Helper()
	rec, err := d.AuditAppend(context.Background(), store.AuditAppendParams{
		Seal: func(seq int64, prev string) (store.AuditRecord, error) {
			return store.AuditRecord{
				Seq: seq, Time: at, Actor: actor, Action: action, Resource: resource, Outcome: outcome,
				RequestID: fmt.Sprintf("req-%d", seq), Body: []byte(fmt.Sprintf(`{"seq":%d}`, seq)),
				PrevHash: prev, Hash: fmt.Sprintf("h%d", seq),
			}, nil
		},
	})
	if err != nil {
		t.Fatalf("AuditAppend: %v", err)
	}
	return rec
}

func testAuditAppendChain(t *testing.T, d store.Driver) {
	ctx := context.Background()
	head, err := d.AuditHead(ctx)
	if err != nil {
		t.Fatalf("AuditHead: %v", err)
	}
	if head.Seq != 0 || head.Hash != "" || head.Checkpoint != nil {
		t.Fatalf("empty head: got %+v, want zero", head)
	}
	for i := 0; i < 3; i++ {
		rec := appendAudit(t, d, auditEpoch.Add(time.Duration(i)*time.Minute), "user:default/jane", "POST /x", "/x", "succeeded")
		if rec.Seq != int64(i+1) {
			t.Errorf("seq: got %d, want %d", rec.Seq, i+1)
		}
		wantPrev := ""
		if i > 0 {
			wantPrev = fmt.Sprintf("h%d", i)
		}
		if rec.PrevHash != wantPrev {
			t.Errorf("prev hash of %d: got %q, want %q", rec.Seq, rec.PrevHash, wantPrev)
		}
	}
	head, err = d.AuditHead(ctx)
	if err != nil || head.Seq != 3 || head.Hash != "h3" {
		t.Fatalf("head: got %+v, %v, want seq 3 hash h3", head, err)
	}
	recs, err := d.AuditScan(ctx, 1, 10)
	if err != nil {
		t.Fatalf("AuditScan: %v", err)
	}
	if len(recs) != 2 || recs[0].Seq != 2 || recs[1].Seq != 3 {
		t.Fatalf("scan after 1: got %v, want records 2 and 3", recs)
	}
	r := recs[0]
	if !r.Time.Equal(auditEpoch.Add(time.Minute)) || r.Actor != "user:default/jane" || r.RequestID != "req-2" ||
		string(r.Body) != `{"seq":2}` || r.PrevHash != "h1" || r.Hash != "h2" {
		t.Errorf("record 2: got %+v", r)
	}
	// A failing Seal appends nothing.
	_, err = d.AuditAppend(ctx, store.AuditAppendParams{Seal: func(int64, string) (store.AuditRecord, error) {
		return store.AuditRecord{}, fmt.Errorf("refused")
	}})
	if err == nil {
		t.Fatal("AuditAppend with a failing Seal: got nil error")
	}
	if head, _ := d.AuditHead(ctx); head.Seq != 3 {
		t.Errorf("head after a failed append: got %d, want 3", head.Seq)
	}
}

func testAuditConcurrentAppends(t *testing.T, d store.Driver) {
	const writers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				_, err := d.AuditAppend(context.Background(), store.AuditAppendParams{
					Seal: func(seq int64, prev string) (store.AuditRecord, error) {
						return store.AuditRecord{Seq: seq, Time: auditEpoch, Actor: "a", Action: "x", Resource: "r",
							Outcome: "succeeded", Body: []byte("{}"), PrevHash: prev, Hash: fmt.Sprintf("h%d", seq)}, nil
					},
				})
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("AuditAppend: %v", err)
		}
	}
	recs, err := d.AuditScan(context.Background(), 0, 1000)
	if err != nil {
		t.Fatalf("AuditScan: %v", err)
	}
	if len(recs) != writers*each {
		t.Fatalf("records: got %d, want %d", len(recs), writers*each)
	}
	for i, r := range recs {
		want := ""
		if i > 0 {
			want = recs[i-1].Hash
		}
		if r.Seq != int64(i+1) || r.PrevHash != want {
			t.Fatalf("record %d: got seq %d prev %q, want seq %d prev %q (the chain forked)", i, r.Seq, r.PrevHash, i+1, want)
		}
	}
}

func testAuditList(t *testing.T, d store.Driver) {
	appendAudit(t, d, auditEpoch, "user:default/jane", "POST /api/catalog/locations", "/api/catalog/locations", "succeeded")
	appendAudit(t, d, auditEpoch.Add(time.Hour), "user:default/bob", "DELETE /api/catalog/locations/{id}", "/api/catalog/locations/abc", "denied")
	appendAudit(t, d, auditEpoch.Add(2*time.Hour), "user:default/jane", "catalog.entity.delete", "component:default/a", "allowed")
	appendAudit(t, d, auditEpoch.Add(3*time.Hour), "anonymous", "GET /api/catalog/entities", "/api/catalog/entities", "denied")
	tests := []struct {
		name string
		p    store.AuditListParams
		want []int64
	}{
		{"all, newest first", store.AuditListParams{}, []int64{4, 3, 2, 1}},
		{"actor", store.AuditListParams{Actor: "user:default/jane"}, []int64{3, 1}},
		{"action", store.AuditListParams{Action: "catalog.entity.delete"}, []int64{3}},
		{"resource prefix", store.AuditListParams{Resource: "/api/catalog/locations"}, []int64{2, 1}},
		{"resource prefix is literal", store.AuditListParams{Resource: "/api/%"}, nil},
		{"outcome", store.AuditListParams{Outcome: "denied"}, []int64{4, 2}},
		{"from inclusive", store.AuditListParams{From: auditEpoch.Add(time.Hour)}, []int64{4, 3, 2}},
		{"to exclusive", store.AuditListParams{To: auditEpoch.Add(time.Hour)}, []int64{1}},
		{"before and limit", store.AuditListParams{Before: 4, Limit: 2}, []int64{3, 2}},
		{"combined", store.AuditListParams{Actor: "user:default/jane", Outcome: "allowed"}, []int64{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := d.AuditList(context.Background(), tt.p)
			if err != nil {
				t.Fatalf("AuditList: %v", err)
			}
			var got []int64
			for _, r := range recs {
				got = append(got, r.Seq)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func testAuditPrune(t *testing.T, d store.Driver) {
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		appendAudit(t, d, auditEpoch.Add(time.Duration(i)*time.Hour), "user:default/jane", "POST /x", "/x", "succeeded")
	}
	cp := store.AuditCheckpoint{Seq: 3, Hash: "h3", Count: 3, PrunedAt: auditEpoch.Add(10 * time.Hour), Digest: "d"}
	n, err := d.AuditPrune(ctx, store.AuditPruneParams{Through: 3, Checkpoint: cp})
	if err != nil {
		t.Fatalf("AuditPrune: %v", err)
	}
	if n != 3 {
		t.Errorf("deleted: got %d, want 3", n)
	}
	head, err := d.AuditHead(ctx)
	if err != nil {
		t.Fatalf("AuditHead: %v", err)
	}
	got := head.Checkpoint
	if head.Seq != 5 || got == nil || got.Seq != cp.Seq || got.Hash != cp.Hash || got.Count != cp.Count ||
		!got.PrunedAt.Equal(cp.PrunedAt) || got.Digest != cp.Digest {
		t.Errorf("head after prune: got %+v (checkpoint %+v), want seq 5 and %+v", head, head.Checkpoint, cp)
	}
	recs, err := d.AuditScan(ctx, 0, 10)
	if err != nil || len(recs) != 2 || recs[0].Seq != 4 {
		t.Errorf("kept: got %v, %v, want records 4 and 5", recs, err)
	}
	if rec := appendAudit(t, d, auditEpoch.Add(6*time.Hour), "a", "b", "c", "succeeded"); rec.Seq != 6 || rec.PrevHash != "h5" {
		t.Errorf("append after prune: got seq %d prev %q, want 6 and h5", rec.Seq, rec.PrevHash)
	}
}

func testAuditCountByHour(t *testing.T, d store.Driver) {
	appendAudit(t, d, auditEpoch.Add(5*time.Minute), "a", "x", "r", "succeeded")
	appendAudit(t, d, auditEpoch.Add(50*time.Minute), "a", "x", "r", "succeeded")
	appendAudit(t, d, auditEpoch.Add(55*time.Minute), "a", "x", "r", "denied")
	appendAudit(t, d, auditEpoch.Add(2*time.Hour+time.Minute), "a", "x", "r", "failed")
	appendAudit(t, d, auditEpoch.Add(5*time.Hour), "a", "x", "r", "failed")
	got, err := d.AuditCountByHour(context.Background(), auditEpoch, auditEpoch.Add(5*time.Hour))
	if err != nil {
		t.Fatalf("AuditCountByHour: %v", err)
	}
	want := []store.AuditHourCount{
		{Hour: auditEpoch, Outcome: "denied", Count: 1},
		{Hour: auditEpoch, Outcome: "succeeded", Count: 2},
		{Hour: auditEpoch.Add(2 * time.Hour), Outcome: "failed", Count: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if !got[i].Hour.Equal(want[i].Hour) || got[i].Outcome != want[i].Outcome || got[i].Count != want[i].Count {
			t.Errorf("bucket %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}
