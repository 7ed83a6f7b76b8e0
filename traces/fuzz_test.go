package traces

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// FuzzReadLog feeds the log reader arbitrary bytes in every format: it
// returns records or errors, never panics, and a replay of what it reads
// comes out in time order.
func FuzzReadLog(f *testing.F) {
	for _, seed := range []string{
		"time,path,key,service_ms\n1,/a,3,5\n0.5,,,\n",
		`192.0.2.7 - - [07/Dec/2026:06:50:27 +0000] "GET / HTTP/1.1" 200 5 "-" "c" 0.045 "0.012, 0.030" "a:1, b:2" 1796626227.123` + "\n",
		`10.0.0.9:4000 [07/Dec/2026:06:50:27.201] fe be/s 0/-1/-1/-1/0 503 217 - - SC-- 1/1/0/0/0 0/0 "GET / HTTP/1.1"` + "\n",
		`[2026-12-07T06:50:27.310Z] "POST /x HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "u" "i" "h" "tcp://10.0.2.1:80"` + "\n",
		`https 2026-12-07T06:50:27.300000Z app/lb 1.2.3.4:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://h:443/p HTTP/1.1" "c" X T arn "R" "d" "c" 1 2026-12-07T06:50:27.129000Z "f" "-" "-"` + "\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range append([]string{""}, Formats...) {
			p, err := NewReplay(bytes.NewReader(data), "f.log", ReplayOptions{Options: Options{Format: format}, Reorder: time.Second})
			if err != nil {
				continue
			}
			var a Arrival
			last := time.Duration(-1)
			for n := 0; p.Next(&a) && n < 10000; n++ {
				if a.At < last || a.At < 0 {
					t.Fatalf("%s: arrival %v after %v", format, a.At, last)
				}
				last = a.At
			}
			if err := p.Err(); err == io.EOF {
				t.Fatalf("%s: EOF as an error", format)
			}
		}
	})
}
