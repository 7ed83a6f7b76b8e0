//go:build unix

package traces

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// A log of tens of millions of lines replays in flat memory: the lines
// come through a FIFO, so the log exists nowhere whole, and the heap is
// sampled as the replay goes. Each line is logged up to 200 ms after the
// one before it arrived (a log written as requests end), so the reorder
// heap does work.
func TestReplayOfAHugeLogStaysFlat(t *testing.T) {
	lines := 20_000_000
	if testing.Short() {
		lines = 2_000_000
	}
	fifo := filepath.Join(t.TempDir(), "log")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	errc := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			errc <- err
			return
		}
		w := bufio.NewWriterSize(f, 1<<20)
		b := []byte("time,path,key,service_ms\n")
		for i := range lines {
			// 10,000 requests a second, each logged up to 200 ms late.
			at := float64(i)/1e4 - float64(i*7919%200)/1000
			b = strconv.AppendFloat(b, at, 'f', 4, 64)
			b = append(b, ",/a,"...)
			b = strconv.AppendInt(b, int64(i%5000), 10)
			b = append(b, ",5\n"...)
			if len(b) > 64<<10 {
				if _, err := w.Write(b); err != nil {
					errc <- err
					return
				}
				b = b[:0]
			}
		}
		w.Write(b)
		errc <- errors.Join(w.Flush(), f.Close())
	}()
	p, err := OpenReplay(fifo, ReplayOptions{Reorder: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var a Arrival
	var n int
	var last time.Duration
	var ms runtime.MemStats
	var peak [2]uint64 // the heap's peak in each half of the log
	for p.Next(&a) {
		if a.At < last {
			t.Fatalf("arrival %d at %v before %v", n, a.At, last)
		}
		last = a.At
		n++
		if n%1_000_000 == 0 {
			runtime.ReadMemStats(&ms)
			h := n * 2 / (lines + 1)
			peak[h] = max(peak[h], ms.HeapAlloc)
		}
	}
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if n != lines || st.Late != 0 || st.Skipped != 0 {
		t.Fatalf("replayed %d of %d lines, stats %+v", n, lines, st)
	}
	t.Logf("%d lines; heap peak %d KiB in the first half, %d KiB in the second", n, peak[0]>>10, peak[1]>>10)
	if peak[1] > 16<<20 || peak[1] > peak[0]+4<<20 {
		t.Errorf("the heap grew with the log: %d KiB, then %d KiB", peak[0]>>10, peak[1]>>10)
	}
}
