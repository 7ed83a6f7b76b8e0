package live

import (
	"strings"
	"testing"
)

func TestCheckAddress(t *testing.T) {
	for _, tc := range []struct {
		url    string
		remote bool
		want   string // "" = allowed
	}{
		{"http://127.0.0.1:8080", false, ""},
		{"http://127.0.0.2:8080", false, ""},
		{"http://[::1]:8080/x", false, ""},
		{"http://localhost:9000", false, ""},
		{"http://10.0.0.1:80", false, "not a loopback address"},
		{"http://[2001:db8::1]:80", false, "not a loopback address"},
		{"http://10.0.0.1:80", true, ""},
		{"ftp://127.0.0.1/", false, "want an http"},
		{"127.0.0.1:80", false, `"127.0.0.1:80"`},
		{"http://:80", false, "no host"},
		{"http://u:p@127.0.0.1:80", false, "without credentials"},
		{"http://127.0.0.1:80/x?a=1", false, "without credentials, query"},
		{"http://127.0.0.1:80/#top", false, "fragment"},
	} {
		err := CheckAddress(tc.url, tc.remote)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.url, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want an error with %q", tc.url, err, tc.want)
		}
	}
}
