package workloads

import (
	"fmt"
	"time"

	"github.com/edgelab/edgelab/engine"
)

// Window is one concrete failure of one instance over [Start, End): what a
// Failure of the schedule expands to once random crashes are drawn.
type Window struct {
	// Kind is what happens: crash, hang, slow or errors (a random crash
	// expands to crash windows).
	Kind string
	// Label names the window in results: the failure's kind as written
	// (random-crash for the crashes it draws).
	Label string
	// Start is when the failure begins, from the start of the run (warm-up
	// included).
	Start time.Duration
	// End is when it ends; negative means it lasts until the run is over.
	End time.Duration
}

// FailureStream names the random stream from which instance i of a server
// group (tier = the group's name) or of the gateway tier (tier =
// "gateway") draws the up and down times of the fi-th failure of its
// schedule, so that sim and live meet the same random crashes.
func FailureStream(tier string, fi, i int) string {
	return fmt.Sprintf("random-crash/%s/%d/%d", tier, fi, i)
}

// Windows expands the failure into the windows of one instance of a run
// ending at end (warm-up plus duration). A scheduled failure is one window
// (End < 0 when it has no "for"); a random crash alternates exponential up
// times (mean MTBF) and down times (mean MTTR), drawn in that order from
// engine.Stream(seed, rep, stream), until an up time reaches end. Windows
// starting at or after end never happen and are left out. Whether the
// failure affects the instance at all is the caller's question (Affects).
func (f *Failure) Windows(seed uint64, rep int, stream string, end time.Duration) []Window {
	if f.Kind == FailRandomCrash {
		var out []Window
		r := engine.Stream(seed, rep, stream)
		for t := time.Duration(0); ; {
			t += Nanos(r.ExpFloat64() * float64(f.MTBF))
			if t >= end {
				return out
			}
			d := Nanos(r.ExpFloat64() * float64(f.MTTR))
			out = append(out, Window{Kind: FailCrash, Label: FailRandomCrash, Start: t, End: t + d})
			t += d
		}
	}
	if f.At.D() >= end {
		return nil
	}
	stop := time.Duration(-1)
	if f.For > 0 {
		stop = f.At.D() + f.For.D()
	}
	return []Window{{Kind: f.Kind, Label: f.Kind, Start: f.At.D(), End: stop}}
}
