package workloads

import (
	"math"
	"reflect"
	"testing"
	"time"
)

func TestFailureWindowsScheduled(t *testing.T) {
	const end = 60 * time.Second
	for _, tc := range []struct {
		f    Failure
		want []Window
	}{
		{Failure{Kind: FailCrash, At: Duration(20 * time.Second), For: Duration(10 * time.Second)},
			[]Window{{Kind: FailCrash, Label: FailCrash, Start: 20 * time.Second, End: 30 * time.Second}}},
		{Failure{Kind: FailHang, At: Duration(5 * time.Second)}, // no "for": until the run is over
			[]Window{{Kind: FailHang, Label: FailHang, Start: 5 * time.Second, End: -1}}},
		{Failure{Kind: FailSlow, At: Duration(50 * time.Second), For: Duration(30 * time.Second), Factor: 2},
			[]Window{{Kind: FailSlow, Label: FailSlow, Start: 50 * time.Second, End: 80 * time.Second}}},
		{Failure{Kind: FailErrors, At: Duration(end), For: Duration(time.Second), Rate: 0.5}, nil}, // starts at the end: never
	} {
		if got := tc.f.Windows(1, 0, "unused", end); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v: windows %+v, want %+v", tc.f, got, tc.want)
		}
	}
}

func TestFailureWindowsRandomCrash(t *testing.T) {
	f := Failure{Kind: FailRandomCrash, MTBF: Duration(10 * time.Second), MTTR: Duration(time.Second)}
	const end = 20000 * time.Second
	stream := FailureStream("web", 0, 3)
	if stream != "random-crash/web/0/3" {
		t.Fatalf("stream name %q changed: it would change every random crash", stream)
	}
	w := f.Windows(7, 0, stream, end)
	if !reflect.DeepEqual(w, f.Windows(7, 0, stream, end)) {
		t.Fatal("same seed, replication and stream gave different windows")
	}
	if reflect.DeepEqual(w, f.Windows(7, 0, FailureStream("web", 0, 4), end)) ||
		reflect.DeepEqual(w, f.Windows(7, 1, stream, end)) {
		t.Fatal("another instance or replication drew the same windows")
	}
	// Windows alternate up and down times: ordered, disjoint, starting
	// before the end; mean up ≈ MTBF and mean down ≈ MTTR (≈ 1800
	// windows: the means are within 10% with overwhelming probability, and
	// the seed is fixed).
	var up, down time.Duration
	last := time.Duration(0)
	for i, x := range w {
		if x.Kind != FailCrash || x.Label != FailRandomCrash {
			t.Fatalf("window %d is %s/%s", i, x.Kind, x.Label)
		}
		if x.Start <= last && i > 0 || x.End < x.Start || x.Start >= end {
			t.Fatalf("window %d [%v, %v) after %v", i, x.Start, x.End, last)
		}
		up += x.Start - last
		down += x.End - x.Start
		last = x.End
	}
	n := float64(len(w))
	if mu := up.Seconds() / n; math.Abs(mu-10) > 1 {
		t.Errorf("mean up time %.2fs, want ≈ 10s", mu)
	}
	if md := down.Seconds() / n; math.Abs(md-1) > 0.1 {
		t.Errorf("mean down time %.3fs, want ≈ 1s", md)
	}
	// A shorter run sees a prefix of the same crashes.
	short := f.Windows(7, 0, stream, 100*time.Second)
	if len(short) == 0 || !reflect.DeepEqual(short, w[:len(short)]) {
		t.Errorf("a 100s run's windows %v are not a prefix of the long run's", short)
	}
}
