package encoding

import (
	"slices"
	"testing"
)

var offers = []string{"zstd", "br", "gzip"}

func TestNegotiate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		values []string
		want   string
	}{
		{"absent header", nil, ""},
		{"empty header", []string{""}, ""},
		{"gzip only", []string{"gzip"}, "gzip"},
		{"x-gzip is gzip", []string{"x-gzip"}, "gzip"},
		{"q-values", []string{"gzip;q=0.5, br"}, "br"},
		{"higher q wins over tie order", []string{"zstd;q=0.2, gzip;q=0.9"}, "gzip"},
		{"ties go to zstd", []string{"gzip, br, zstd"}, "zstd"},
		{"ties go to br before gzip", []string{"gzip, br"}, "br"},
		{"star", []string{"*"}, "zstd"},
		{"star with a refusal", []string{"br;q=0, *"}, "zstd"},
		{"star refused, gzip listed", []string{"*;q=0, gzip"}, "gzip"},
		{"identity only", []string{"identity"}, ""},
		{"everything refused", []string{"*;q=0"}, ""},
		{"identity preferred explicitly", []string{"identity, gzip;q=0.5"}, ""},
		{"identity lower than gzip", []string{"identity;q=0.1, gzip"}, "gzip"},
		{"case-insensitive", []string{"GZIP;Q=0.8, Br;q=0.9"}, "br"},
		{"spaces", []string{" gzip ; q = 0.5 ,br ; q=0.4"}, "gzip"},
		{"several lines", []string{"gzip;q=0.1", "zstd;q=0.3"}, "zstd"},
		{"malformed q ignored", []string{"br;q=2, gzip;q=0.3"}, "gzip"},
		{"q with too many digits ignored", []string{"br;q=0.0001, gzip;q=0.001"}, "gzip"},
		{"first entry counts", []string{"gzip;q=0, gzip"}, ""},
		{"unknown codings", []string{"deflate, compress"}, ""},
		{"other parameters", []string{"gzip;level=1;q=0.7, br;q=0.6"}, "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if got := Negotiate(tt.values, offers); got != tt.want {
				t.Errorf("Negotiate(%q) = %q, want %q", tt.values, got, tt.want)
			}
		})
	}
}

func TestPreference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		values []string
		coding string
		want   int
	}{
		{nil, "gzip", 0},
		{nil, "identity", 1000},
		{[]string{"gzip;q=0.5"}, "gzip", 500},
		{[]string{"gzip;q=0.5"}, "identity", 1000},
		{[]string{"*;q=0"}, "identity", 0},
		{[]string{"*;q=0, identity"}, "identity", 1000},
		{[]string{"identity;q=0"}, "identity", 0},
		{[]string{"*;q=0.25"}, "br", 250},
		{[]string{"br;q=0.", "gzip;q=1.000"}, "br", 0},
		{[]string{"br;q=0.", "gzip;q=1.000"}, "gzip", 1000},
		{[]string{"gzip;q=1.5"}, "gzip", 0},
		{[]string{"gzip;q="}, "gzip", 0},
		{[]string{"gzip;q=0.125"}, "x-gzip", 125},
		// Empty entries and unparsable q-values are skipped; the first
		// entry of a coding counts.
		{[]string{"GZip;q=0.5, , br;q=bad, X-Gzip", "*;q=0"}, "gzip", 500},
		{[]string{"GZip;q=0.5, , br;q=bad, X-Gzip", "*;q=0"}, "br", 0},
		{[]string{"GZip;q=0.5, , br;q=bad, X-Gzip", "*;q=0"}, "identity", 0},
	}
	for _, tt := range tests {
		if got := Preference(tt.values, tt.coding); got != tt.want {
			t.Errorf("Preference(%q, %q) = %d, want %d", tt.values, tt.coding, got, tt.want)
		}
	}
}

func TestNegotiateDoesNotAllocate(t *testing.T) {
	values := []string{"gzip, deflate, br;q=0.9, zstd;q=0.8, *;q=0.1"}
	if n := testing.AllocsPerRun(100, func() { _ = Negotiate(values, offers) }); n != 0 {
		t.Errorf("Negotiate allocates %v times", n)
	}
}

func FuzzNegotiate(f *testing.F) {
	f.Add("gzip;q=0.5, br, *;q=0")
	f.Add("identity;q=1.000, x-gzip")
	f.Fuzz(func(t *testing.T, s string) {
		each([]string{s}, func(c string, q int) bool {
			if q < 0 || q > MaxQ || c == "" {
				t.Fatalf("entry %q;q=%d out of range", c, q)
			}
			return true
		})
		if q := Preference([]string{s}, "gzip"); q < 0 || q > MaxQ {
			t.Fatalf("Preference %d", q)
		}
		if n := Negotiate([]string{s}, offers); n != "" && !slices.Contains(offers, n) {
			t.Fatalf("Negotiate = %q", n)
		}
	})
}
