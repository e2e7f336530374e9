package rawquery

import (
	"net/url"
	"testing"
)

// reference is what net/url gives: url.ParseQuery keeps the valid pairs.
func reference(raw, name string) (string, bool) {
	v, _ := url.ParseQuery(raw)
	return v.Get(name), v.Has(name)
}

func TestGet(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"", "k=1", "a=1&k=2&k=3", "k", "k=", "a%20b=1&k=%zz&k=ok", "k%=1&k=2",
		"k=1;x&k=2", "a+b=c+d&k=1%2B1", "%6B=x", "&&k=v&", "user=&k=x"} {
		want, wantOK := reference(raw, "k")
		if got, ok := Get(raw, "k"); got != want || ok != wantOK {
			t.Errorf("Get(%q) = %q, %v; url.ParseQuery gives %q, %v", raw, got, ok, want, wantOK)
		}
	}
	if got, _ := Get("a+b=c+d", "a b"); got != "c d" {
		t.Errorf("encoded name: %q", got)
	}
}

func TestRemove(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"z=9&api_key=s&a=x%20y&flag", "z=9&a=x%20y&flag"},
		{"v=1;2&api_key=s", "v=1;2"},
		{"api_key=s", ""},
		{"api%5Fkey=s&b=1", "b=1"}, // the name is compared decoded
		{"api_key=a&api_key=b&c", "c"},
		{"", ""},
		{"other=api_key", "other=api_key"},
		{"app_id=1&ts=2&digest=3&x=4", "x=4"},
	} {
		if got := Remove(tt.in, "api_key", "app_id", "ts", "digest"); got != tt.want {
			t.Errorf("Remove(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzGet(f *testing.F) {
	for _, s := range []string{"user=bob", "a=1&user=b%20o+b", "us%65r=x", "user=%zz&user=ok", "a;b=1&user=2", "&&user", "user=&user=x"} {
		f.Add(s, "user")
	}
	f.Fuzz(func(t *testing.T, raw, name string) {
		want, wantOK := reference(raw, name)
		if got, ok := Get(raw, name); got != want || ok != wantOK {
			t.Errorf("Get(%q, %q) = %q, %v; url.ParseQuery gives %q, %v", raw, name, got, ok, want, wantOK)
		}
	})
}
