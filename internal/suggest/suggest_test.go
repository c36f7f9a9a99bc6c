package suggest

import "testing"

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"orphanStrategy", "orphanStrategy", 0},
		{"orphanStratgy", "orphanStrategy", 1},
		{"kitten", "sitting", 3},
		{"catalog.entity.raed", "catalog.entity.read", 2},
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q): got %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
