package reports

import (
	"crypto/sha512"
	"encoding/hex"
	"io/fs"
	"strings"
	"testing"
)

// echartsJSSHA512 pins the committed reports/assets/echarts.min.js: the
// file of the ECharts 5.6.0 npm tarball whose integrity the Makefile pins
// (ECHARTS_INTEGRITY), extracted by `make assets`. Keep it equal to the
// Makefile's ECHARTS_JS_SHA512.
const echartsJSSHA512 = "5d299b5f79a1ac3da2c797d73d34506f61702b6dac44c5504e904fd9a73c857ec387feb4e610364037a0556880bd93e25c8c4e57409b9265231a2a270e96c29b"

// The embedded library is the pinned release, with its license beside
// it, so a plain `go build` writes reports and nothing is fetched.
func TestEChartsIsThePinnedRelease(t *testing.T) {
	js, err := fs.ReadFile(assets, "assets/echarts.min.js")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512(js)
	if got := hex.EncodeToString(sum[:]); got != echartsJSSHA512 {
		t.Errorf("reports/assets/echarts.min.js: sha512 %s, want the pinned %s (run make assets)", got, echartsJSSHA512)
	}
	for _, f := range []string{"assets/ECHARTS-LICENSE", "assets/ECHARTS-NOTICE"} {
		b, err := fs.ReadFile(assets, f)
		if err != nil || !strings.Contains(string(b), "Apache") {
			t.Errorf("%s: %v (the library's license must ship with it)", f, err)
		}
	}
	if err := HTMLAvailable(); err != nil {
		t.Errorf("HTMLAvailable: %v", err)
	}
	if _, version, _ := strings.Cut("x "+mustRead(t, "assets/echarts.version"), " "); !strings.HasPrefix(version, "5.6.0 ") {
		t.Errorf("echarts.version: %q", version)
	}
}

func mustRead(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(assets, name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
