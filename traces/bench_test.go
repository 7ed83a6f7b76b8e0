package traces

import (
	"bytes"
	"testing"
	"time"
)

// benchLog is n lines of a format, as edgelab writes them.
func benchLog(b *testing.B, format string, n int) []byte {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, format)
	if err != nil {
		b.Fatal(err)
	}
	e := Entry{Start: SimOrigin, Total: 21 * time.Millisecond, Service: 20 * time.Millisecond, Demand: -1,
		Path: "/api/users", Server: "api-3", Status: 200, Tries: 1}
	for i := range n {
		e.Start += int64(time.Millisecond)
		e.Key = uint32(i)
		if err := w.Write(&e); err != nil {
			b.Fatal(err)
		}
	}
	w.Flush()
	return buf.Bytes()
}

// BenchmarkReplay measures a replay's cost per line, from bytes in memory
// (parse, hash the key, the reorder heap), per format; MB/s is the log's
// bytes read.
func BenchmarkReplay(b *testing.B) {
	for _, format := range WriteFormats {
		b.Run(format, func(b *testing.B) {
			log := benchLog(b, format, 100_000)
			b.SetBytes(int64(len(log)) / 100_000)
			b.ReportAllocs()
			b.ResetTimer()
			var a Arrival
			for done := 0; done < b.N; {
				p, err := NewReplay(bytes.NewReader(log), "b.log", ReplayOptions{})
				if err != nil {
					b.Fatal(err)
				}
				for done < b.N && p.Next(&a) {
					done++
				}
			}
		})
	}
}

// BenchmarkWrite measures writing one access log line.
func BenchmarkWrite(b *testing.B) {
	for _, format := range WriteFormats {
		b.Run(format, func(b *testing.B) {
			var buf bytes.Buffer
			w, _ := NewWriter(&buf, format)
			e := Entry{Start: SimOrigin, Total: 21 * time.Millisecond, Service: 20 * time.Millisecond, Demand: -1,
				Path: "/api/users", Server: "api-3", Status: 200, Tries: 1}
			b.ReportAllocs()
			for b.Loop() {
				e.Start += int64(time.Millisecond)
				if err := w.Write(&e); err != nil {
					b.Fatal(err)
				}
				if buf.Len() > 1<<24 {
					w.Flush()
					buf.Reset()
				}
			}
		})
	}
}
