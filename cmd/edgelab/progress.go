package main

import (
	"io"
	"os"
	"sync"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/edgelab/edgelab/experiment"
)

// progressBar draws the points of a sweep or capacity search finished so
// far on stderr. It only exists when stderr is a terminal: piped or
// redirected output, and stdout in any case, never see it. A nil
// *progressBar does nothing, so callers need not check.
type progressBar struct {
	p   *mpb.Progress
	bar *mpb.Bar

	mu    sync.Mutex
	done  int
	total int
	grow  bool // total is an estimate: extend it rather than complete early
}

// isTerminal reports whether w is a character device (a terminal), as
// os.Stderr is when nothing redirects it. Buffers, files and pipes are
// not.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Stat() (os.FileInfo, error) })
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// newProgress starts a bar counting total units ("points", "probes") on
// w when w is a terminal and there is something to count; it returns nil
// otherwise.
func newProgress(w io.Writer, label, unit string, total int) *progressBar {
	if total <= 0 || !isTerminal(w) {
		return nil
	}
	return startProgress(w, label, unit, total)
}

// startProgress draws on w whatever it is (mpb itself only draws on a
// real terminal, unless told otherwise by opts).
func startProgress(w io.Writer, label, unit string, total int, opts ...mpb.ContainerOption) *progressBar {
	p := mpb.New(append([]mpb.ContainerOption{mpb.WithOutput(w), mpb.WithWidth(40)}, opts...)...)
	// A bar made with total 0 never completes on its own (mpb completes
	// one when its count reaches the total it was made with, whatever
	// SetTotal said since): finish completes it, so an estimated total
	// can grow. The total shown is set right after.
	bar := p.AddBar(0,
		mpb.PrependDecorators(decor.Name(label+" ", decor.WCSyncSpaceR), decor.CountersNoUnit("%d/%d "+unit)),
		mpb.AppendDecorators(decor.OnComplete(decor.AverageETA(decor.ET_STYLE_GO), "done")),
	)
	bar.SetTotal(int64(total), false)
	return &progressBar{p: p, bar: bar, total: total}
}

// progressLabel names what a bar counts: "sweep checkout", "capacity
// checkout shard 2/3".
func progressLabel(command, scenario string, shard experiment.Shard) string {
	label := command + " " + scenario
	if !shard.Whole() {
		label += " shard " + shard.String()
	}
	return label
}

// estimate marks the bar's total as an estimate that more points may
// exceed (a capacity search probes more values when it finds the SLO is
// not monotonic).
func (b *progressBar) estimate() *progressBar {
	if b != nil {
		b.grow = true
	}
	return b
}

// tick counts one finished point; it is safe for concurrent use.
func (b *progressBar) tick() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done++
	if b.grow && b.done >= b.total {
		b.total = b.done + 1
		b.bar.SetTotal(int64(b.total), false)
	}
	b.bar.Increment()
}

// finish completes the bar (ok) or leaves it where it stopped, and waits
// until it is drawn, so that nothing printed afterwards interleaves.
func (b *progressBar) finish(ok bool) {
	if b == nil {
		return
	}
	if ok {
		// Our own count, not the bar's (-1): the bar applies increments
		// asynchronously and may not have counted the last ones yet.
		b.mu.Lock()
		done := b.done
		b.mu.Unlock()
		b.bar.SetTotal(int64(done), true)
	} else {
		b.bar.Abort(false)
	}
	b.p.Wait()
}
