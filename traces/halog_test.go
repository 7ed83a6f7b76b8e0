package traces

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// HAProxy's own log analyser reads the HAProxy logs edgelab writes: every
// line parsed, each server's requests, statuses and mean response time
// as written. halog comes with Debian's haproxy package; CI, which
// installs it, sets EDGELAB_REAL_GATEWAYS=1 and so requires it.
func TestHalogReadsOurHAProxyLog(t *testing.T) {
	halog, err := exec.LookPath("halog")
	if err != nil {
		if _, e := os.Stat("/usr/sbin/halog"); e == nil {
			halog = "/usr/sbin/halog"
		} else if os.Getenv("EDGELAB_REAL_GATEWAYS") == "1" {
			t.Fatal("halog not found (apt-get install haproxy)")
		} else {
			t.Skip("halog not found (apt-get install haproxy)")
		}
	}
	var log bytes.Buffer
	w, err := NewWriter(&log, HAProxy)
	if err != nil {
		t.Fatal(err)
	}
	start := SimOrigin
	for i := range 300 {
		e := Entry{Start: start + int64(i)*int64(10*time.Millisecond), Service: 20 * time.Millisecond, Total: 21 * time.Millisecond,
			Demand: -1, Server: "a", Status: 200, Key: uint32(i), Path: "/x", Tries: 1}
		if i%3 == 0 {
			e.Server, e.Service, e.Total = "b", 40*time.Millisecond, 41*time.Millisecond
		}
		if i%10 == 0 {
			e.Status = 500
		}
		if err := w.Write(&e); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	cmd := exec.Command(halog, "-srv")
	cmd.Stdin = &log
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("halog: %v: %s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "300 lines in") || !strings.Contains(errb.String(), " 0 parsing errors") {
		t.Errorf("halog: %s", errb.String())
	}
	// #srv_name 1xx 2xx 3xx 4xx 5xx other tot_req req_ok pct_ok avg_ct avg_rt
	// (req_ok counts lines whose five timers are all set, whatever the
	// status: halog.c, filter_count_srv_status.)
	want := map[string]string{"edgelab/a": "0 180 0 0 20 0 200 200", "edgelab/b": "0 90 0 0 10 0 100 100"}
	rt := map[string]string{"edgelab/a": "20", "edgelab/b": "40"}
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) < 12 || want[f[0]] == "" {
			continue
		}
		if got := strings.Join(f[1:9], " "); got != want[f[0]] || f[11] != rt[f[0]] {
			t.Errorf("halog %s: %s (avg_rt %s), want %s (avg_rt %s)", f[0], got, f[11], want[f[0]], rt[f[0]])
		}
		delete(want, f[0])
	}
	if len(want) > 0 {
		t.Errorf("halog did not list %v:\n%s", want, out.String())
	}
}
