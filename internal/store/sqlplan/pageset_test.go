package sqlplan

import (
	"slices"
	"testing"
)

func setOf(ids ...int64) idSet {
	var s idSet
	for _, id := range ids {
		w := int(id / 64)
		for w >= len(s) {
			s = append(s, 0)
		}
		s[w] |= 1 << (id % 64)
	}
	return s
}

// TestIdSetDiffers checks the test that lets a patch keep a cached leaf
// set: replacing the bits of the changed ids by those read must leave it
// exactly as it was.
func TestIdSetDiffers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		s       idSet
		pending []int64
		now     idSet
		want    bool
	}{
		{"still in", setOf(3, 70), []int64{70}, setOf(70), false},
		{"still out", setOf(3), []int64{70}, nil, false},
		{"now out", setOf(3, 70), []int64{70}, nil, true},
		{"now in", setOf(3), []int64{70}, setOf(70), true},
		{"now in past the end", setOf(3), []int64{700}, setOf(700), true},
		{"now in, same word", setOf(3), []int64{4}, setOf(4), true},
		{"one of two out", setOf(3, 4, 200), []int64{4, 200}, setOf(200), true},
		{"zero words past the end", setOf(3), []int64{3}, append(setOf(3), 0, 0), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.differs(tc.pending, tc.now); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			// The patch itself, for comparison.
			patched := slices.Clone(tc.s)
			for _, id := range tc.pending {
				if w := int(id / 64); w < len(patched) {
					patched[w] &^= 1 << (id % 64)
				}
			}
			patched = patched.or(tc.now)
			if same := patched.count() == tc.s.count() && patched.andNot(tc.s).count() == 0; same == tc.want {
				t.Errorf("the patch %v the set, but differs said %v", map[bool]string{true: "keeps", false: "changes"}[same], tc.want)
			}
		})
	}
}

func TestSamePairs(t *testing.T) {
	p := func(o, s int64) [2]int64 { return [2]int64{o, s} }
	for _, tc := range []struct {
		a, b [][2]int64
		want bool
	}{
		{nil, nil, true},
		{[][2]int64{p(1, 1), p(2, 5)}, [][2]int64{p(2, 5), p(1, 1)}, true},
		{[][2]int64{p(1, 1)}, [][2]int64{p(1, 2)}, false},
		{[][2]int64{p(1, 1)}, nil, false},
		{[][2]int64{p(1, 1), p(1, 1)}, [][2]int64{p(1, 1), p(2, 2)}, false},
	} {
		if got := samePairs(tc.a, tc.b); got != tc.want {
			t.Errorf("samePairs(%v, %v): got %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
