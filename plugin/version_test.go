package plugin

import "testing"

func TestSupports(t *testing.T) {
	for i, tc := range []struct {
		constraint, version string
		want                bool
		wantErr             bool
	}{
		{">=1.0.0 <2.0.0", "1.0.0", true, false},
		{">=1.0.0 <2.0.0", "1.9.3", true, false},
		{">=1.0.0 <2.0.0", "2.0.0", false, false},
		{">=1.0.0, <2.0.0", "0.9.0", false, false},
		{"^1.2", "1.5.0", true, false},
		{"^1.2", "1.1.9", false, false},
		{"^0.3", "0.4.0", false, false},
		{"~1.2", "1.2.9", true, false},
		{"~1.2", "1.3.0", false, false},
		{"1.x", "1.7.0", true, false},
		{"1.x", "2.0.0", false, false},
		{"=1.0.0", "1.0.0", true, false},
		{"1.0.0", "1.0.1", false, false},
		{"<=1.2", "1.2.7", true, false},
		{">1.2", "1.2.7", false, false},
		{"^2 || ^1", "1.0.0", true, false},
		{"v1.0.0", "1.0.0-beta+x", true, false},
		{"", "1.0.0", false, true},
		{">=one", "1.0.0", false, true},
		{">=1.0.0", "1.0", false, true},
	} {
		got, err := Supports(tc.constraint, tc.version)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%d: Supports(%q, %q) = %v, %v; want %v (error: %v)", i, tc.constraint, tc.version, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestSupportsAPIMessage(t *testing.T) {
	err := SupportsAPI(Info{ID: "x", Version: "3.0.0", APIVersions: ">=2.0.0"})
	if KindOf(err) != ErrInvalid || err.Error() != "plugin x 3.0.0 supports plugin API >=2.0.0, not this Atrium's "+APIVersion {
		t.Errorf("err = %v", err)
	}
	if err := SupportsAPI(Info{ID: "x", APIVersions: ">=1.0.0 <2.0.0"}); err != nil {
		t.Errorf("compatible: %v", err)
	}
}
