package plugin

import "testing"

func TestRemoveQuery(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"z=9&api_key=s&a=x%20y&flag", "z=9&a=x%20y&flag"},
		{"v=1;2&api_key=s", "v=1;2"},
		{"api_key=s", ""},
		{"api%5Fkey=s&b=1", "b=1"}, // the name is compared unescaped
		{"api_key=a&api_key=b&c", "c"},
		{"", ""},
		{"other=api_key", "other=api_key"},
		{"app_id=1&ts=2&digest=3&x=4", "x=4"},
	} {
		if got := RemoveQuery(tt.in, "api_key", "app_id", "ts", "digest"); got != tt.want {
			t.Errorf("RemoveQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
