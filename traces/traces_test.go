package traces

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

func ms(n float64) time.Duration { return time.Duration(n * 1e6) }

func epoch(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixNano()
}

// Lines in each format, as the vendors document them (the ALB and Envoy
// lines are the examples of their docs pages, with fields filled in).
func TestParseFormats(t *testing.T) {
	cases := []struct {
		name, format, logFormat, line string
		want                          Record
	}{
		{
			name:   "nginx default format",
			format: NGINX,
			line:   `192.0.2.7 - - [07/Dec/2026:06:50:27 +0000] "GET /api/users?id=3 HTTP/1.1" 200 512 "-" "curl/8.5" 0.045 "0.012, 0.030" "10.0.0.1:80, 10.0.0.2:80" 1796626227.123`,
			want:   Record{Start: epoch("2026-12-07T06:50:27.078Z"), Path: []byte("/api/users?id=3"), Key: []byte("192.0.2.7"), Server: []byte("10.0.0.2:80"), Status: 200, Service: ms(30), Total: ms(45)},
		},
		{
			name:      "nginx custom format, $upstream_addr missing",
			format:    NGINX,
			logFormat: `$msec $status "$request" rt=$request_time urt=$upstream_response_time`,
			line:      `1796626227.500 502 "POST /pay HTTP/2.0" rt=1.000 urt=-`,
			want:      Record{Start: epoch("2026-12-07T06:50:26.5Z"), Path: []byte("/pay"), Status: 502, Service: -1, Total: ms(1000)},
		},
		{
			name:   "haproxy httplog behind syslog",
			format: HAProxy,
			line:   `Dec  7 06:50:27 lb1 haproxy[2142]: 198.51.100.4:51432 [07/Dec/2026:06:50:27.201] www~ api/srv2 0/3/1/20/24 200 1024 - - ---- 10/10/2/1/0 0/0 {host.example} "GET /x HTTP/1.1"`,
			want:   Record{Start: epoch("2026-12-07T06:50:27.201Z"), Path: []byte("/x"), Key: []byte("198.51.100.4"), Server: []byte("api/srv2"), Status: 200, Service: ms(20), Total: ms(24)},
		},
		{
			name:   "haproxy, no server reached",
			format: HAProxy,
			line:   `10.0.0.9:4000 [07/Dec/2026:06:50:27.201] fe be/<NOSRV> 0/-1/-1/-1/0 503 217 - - SC-- 1/1/0/0/0 0/0 "GET / HTTP/1.1"`,
			want:   Record{Start: epoch("2026-12-07T06:50:27.201Z"), Path: []byte("/"), Key: []byte("10.0.0.9"), Status: 503, Service: -1, Total: 0},
		},
		{
			name:   "aws alb",
			format: ALB,
			line:   `https 2026-12-07T06:50:27.300000Z app/my-lb/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/shop/cart HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2026-12-07T06:50:27.129000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234`,
			want:   Record{Start: epoch("2026-12-07T06:50:27.129Z"), Path: []byte("/shop/cart"), Key: []byte("192.168.131.39"), Server: []byte("10.0.0.1:80"), Status: 200, Service: ms(48), Total: ms(171)},
		},
		{
			name:   "envoy default",
			format: Envoy,
			line:   `[2026-12-07T06:50:27.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80"`,
			want:   Record{Start: epoch("2026-12-07T06:50:27.310Z"), Path: []byte("/api/v1/locations"), Key: []byte("10.0.35.28"), Server: []byte("tcp://10.0.2.1:80"), Status: 204, Service: ms(100), Total: ms(226)},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.logFormat == "" {
				if got := Detect([]byte(c.line)); got != c.format {
					t.Errorf("Detect = %q, want %q", got, c.format)
				}
			}
			rd, err := NewReader(strings.NewReader(c.line+"\n"), "x.log", Options{Format: c.format, LogFormat: c.logFormat, Strict: true})
			if err != nil {
				t.Fatal(err)
			}
			var r Record
			if err := rd.Next(&r); err != nil {
				t.Fatal(err)
			}
			if got, want := show(r), show(c.want); got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			if err := rd.Next(&r); err != io.EOF {
				t.Errorf("second Next = %v, want EOF", err)
			}
		})
	}
}

func show(r Record) string {
	return fmt.Sprintf("start=%s path=%q key=%q server=%q status=%d service=%v total=%v",
		time.Unix(0, r.Start).UTC().Format(time.RFC3339Nano), r.Path, r.Key, r.Server, r.Status, r.Service, r.Total)
}

func TestCombinedHasOneSecondResolution(t *testing.T) {
	// combined alone: the arrival is somewhere in the logged second.
	line := `192.0.2.7 - - [07/Dec/2026:06:50:27 +0100] "GET / HTTP/1.1" 200 5 "-" "curl"`
	if Detect([]byte(line)) != NGINX {
		t.Fatal("combined not detected as nginx")
	}
	rd, err := NewReader(strings.NewReader(line), "c.log", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	if err := rd.Next(&r); err != nil {
		t.Fatal(err)
	}
	base := epoch("2026-12-07T05:50:27Z")
	if r.Start < base || r.Start >= base+1e9 {
		t.Errorf("start %v not within the logged second", time.Unix(0, r.Start).UTC())
	}
}

func TestCSV(t *testing.T) {
	log := "key,time,service_ms,path,extra\n7,-0.5,12.5,/a,x\n,1.25,,,\n"
	rd, err := NewReader(strings.NewReader(log), "t.csv", Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	if err := rd.Next(&r); err != nil {
		t.Fatal(err)
	}
	if r.Start != -5e8 || string(r.Key) != "7" || r.Service != ms(12.5) || string(r.Path) != "/a" {
		t.Errorf("line 2: %s", show(r))
	}
	if err := rd.Next(&r); err != nil {
		t.Fatal(err)
	}
	if r.Start != 1.25e9 || r.Service != -1 || len(r.Path) != 0 {
		t.Errorf("line 3: %s", show(r))
	}
}

// Bad logs: each a message naming file and line, or a documented skip.
func TestBadLogs(t *testing.T) {
	for _, c := range []struct{ name, log, opt, want string }{
		{"unknown format", "hello world\n", "", "x.log:1: no known log format"},
		{"empty", "", "", "x.log: empty log"},
		{"csv without time", "path,key\n/a,1\n", "csv", "x.log:1: a CSV log needs a header"},
		{"truncated line, strict", "time\n1\n2.x\n", "strict", "x.log:3: time: bad seconds"},
		{"wrong format named", "time\n1\n", "haproxy", "x.log:1: not a haproxy log line"},
		{"format without time", "x\n", "logformat", "has no time"},
	} {
		t.Run(c.name, func(t *testing.T) {
			opt := Options{}
			switch c.opt {
			case "csv":
				opt.Format = CSV
			case "haproxy":
				opt.Format = HAProxy
			case "strict":
				opt.Strict = true
			case "logformat":
				opt.Format, opt.LogFormat = NGINX, "$remote_addr $status"
			}
			rd, err := NewReader(strings.NewReader(c.log), "x.log", opt)
			if err == nil {
				var r Record
				for err == nil {
					err = rd.Next(&r)
				}
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
	// Without Strict, malformed and truncated lines are skipped and counted.
	log := "time,service_ms\n1,5\n2,x\n3,5\n\n4\n" + strings.Repeat("9", 70<<10) + "\n5,1"
	rd, err := NewReader(strings.NewReader(log), "x.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	var times []int64
	for rd.Next(&r) == nil {
		times = append(times, r.Start/1e9)
	}
	n, first := rd.Skipped()
	if fmt.Sprint(times) != "[1 3 4 5]" || n != 2 || first == nil || !strings.Contains(first.Error(), "x.csv:3: service_ms") {
		t.Errorf("times %v, skipped %d (first %v)", times, n, first)
	}
}

func TestWriterRoundTrip(t *testing.T) {
	entries := []Entry{
		{Start: epoch("2026-01-01T00:00:01.0004Z"), Total: ms(25.2), Service: ms(20), Demand: -1, Path: "/api", Server: "s1", Key: 0x010203, Status: 200, Tries: 1},
		{Start: epoch("2026-01-01T00:00:01.5Z"), Total: ms(3), Service: -1, Demand: -1, Path: "", Key: 5, Status: 503, Tries: 0},
		{Start: epoch("2026-01-01T00:00:02.75Z"), Total: ms(1200), Service: ms(900), Demand: -1, Path: "/b", Server: "s2", Key: 9, Status: 504, Tries: 3},
	}
	for _, format := range WriteFormats {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, format)
			if err != nil {
				t.Fatal(err)
			}
			for i := range entries {
				if err := w.Write(&entries[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := Detect(bytes.SplitN(buf.Bytes(), []byte{'\n'}, 2)[0]); got != format {
				t.Errorf("written log detected as %q:\n%s", got, buf.String())
			}
			rd, err := NewReader(&buf, "w.log", Options{Strict: true})
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range entries {
				var r Record
				if err := rd.Next(&r); err != nil {
					t.Fatal(err)
				}
				tol := int64(1e6) // the millisecond
				if format == CSV {
					tol = 1e3
				}
				if d := r.Start - e.Start; d > tol || d < -tol {
					t.Errorf("entry %d: start off by %v", i, time.Duration(d))
				}
				wantSvc := e.Service.Round(time.Millisecond)
				if e.Service < 0 {
					wantSvc = -1
				}
				if r.Service != wantSvc {
					t.Errorf("entry %d: service %v, want %v", i, r.Service, wantSvc)
				}
				path := e.Path
				if path == "" {
					path = "/"
				}
				if string(r.Path) != path {
					t.Errorf("entry %d: path %q", i, r.Path)
				}
				if format != CSV && r.Status != e.Status {
					t.Errorf("entry %d: status %d", i, r.Status)
				}
			}
		})
	}
}

func TestReplayOrdersWindowsAndScales(t *testing.T) {
	// Logged when requests end: the 2 s request arrived first.
	log := "time,service_ms,key\n10.5,1,a\n10.0,2,b\n11.0,3,c\n12.0,4,d\n13.0,5,e\n"
	p, err := NewReplay(strings.NewReader(log), "r.csv", ReplayOptions{Speed: 2, From: 500 * time.Millisecond, To: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var a Arrival
	for p.Next(&a) {
		got = append(got, fmt.Sprintf("%v/%v/%d", a.At, a.Service, a.Line))
	}
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	// From the first arrival (10.0): 10.5, 11.0 and 12.0 fall in [0.5s, 3s),
	// shifted by 0.5 s and halved.
	want := "[0s/1ms/2 250ms/3ms/4 750ms/4ms/5]"
	if fmt.Sprint(got) != want {
		t.Errorf("arrivals %v, want %s", got, want)
	}
	// A record further out of order than the window replays at the time
	// before it, counted late.
	p, _ = NewReplay(strings.NewReader("time\n100\n101\n102\n50\n"), "l.csv", ReplayOptions{Reorder: time.Second})
	var ats []time.Duration
	for p.Next(&a) {
		ats = append(ats, a.At)
	}
	if fmt.Sprint(ats) != "[0s 1s 1s 2s]" || p.Stats().Late != 1 {
		t.Errorf("late replay %v, stats %+v", ats, p.Stats())
	}
}

func TestReadAllocatesNothing(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, NGINX)
	e := Entry{Start: 1.7e18, Total: ms(3), Service: ms(2), Demand: -1, Path: "/p", Server: "s", Status: 200}
	for range 2000 {
		e.Start += 1e6
		if err := w.Write(&e); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	rd, err := NewReader(bytes.NewReader(buf.Bytes()), "a.log", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	rd.Next(&r)
	if n := testing.AllocsPerRun(1000, func() {
		if err := rd.Next(&r); err != nil {
			t.Fatal(err)
		}
	}); n > 0 {
		t.Errorf("%v allocations per line", n)
	}
	if n := testing.AllocsPerRun(1000, func() { w.Write(&e) }); n > 0 {
		t.Errorf("%v allocations per written line", n)
	}
}
