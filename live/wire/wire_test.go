package wire

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/strategies"
)

func TestWire(t *testing.T) {
	b := AppendDemand(nil, []time.Duration{20 * time.Millisecond, 3500 * time.Microsecond})
	if string(b) != "20000000,3500000" {
		t.Fatalf("demand %q", b)
	}
	for gi, want := range []float64{20e6, 3.5e6} {
		if d, ok, err := GroupDemand(string(b), gi); err != nil || !ok || d != want {
			t.Fatalf("group %d: %v %v %v", gi, d, ok, err)
		}
	}
	if _, ok, err := GroupDemand("", 0); ok || err != nil {
		t.Fatalf("absent demand: %v %v", ok, err)
	}
	for _, bad := range []struct {
		h  string
		gi int
		in string
	}{
		{"1,2", 2, "no value for server group 2"},
		{"-1", 0, "one non-negative number"},
		{"NaN", 0, "one non-negative number"},
		{"1,x", 1, "one non-negative number"},
	} {
		if _, _, err := GroupDemand(bad.h, bad.gi); err == nil || !strings.Contains(err.Error(), bad.in) || !strings.Contains(err.Error(), HeaderDemand) {
			t.Errorf("GroupDemand(%q, %d): %v", bad.h, bad.gi, err)
		}
	}
	if d, ok, err := GroupDemand(" 7 ,8", 0); err != nil || !ok || d != 7 {
		t.Fatalf("spaces: %v %v %v", d, ok, err)
	}

	if v := Number(" 42 "); v != 42 {
		t.Fatalf("Number: %d", v)
	}
	if v := Number("x"); v != 0 {
		t.Fatalf("Number(x): %d", v)
	}
	if _, err := ParseNumber(" 42", 64); err == nil {
		t.Fatal("ParseNumber accepts spaces")
	}
	if _, err := ParseNumber("4294967296", 32); err == nil {
		t.Fatal("ParseNumber ignores bits")
	}
	if n, ok := ParseAttempts("3"); !ok || n != 3 {
		t.Fatalf("attempts: %d %v", n, ok)
	}
	for _, bad := range []string{"", "-1", "x"} {
		if _, ok := ParseAttempts(bad); ok {
			t.Errorf("ParseAttempts(%q) ok", bad)
		}
	}

	h := http.Header{}
	sig := strategies.Signal{InFlight: 3, Utilization: 0.75, ServiceTime: 20 * time.Millisecond}
	SetSignal(h, sig)
	if h.Get(HeaderInFlight) != "3" || h.Get(HeaderUtilization) != "0.75" || h.Get(HeaderServiceTime) != "20000000" {
		t.Fatalf("signal headers %v", h)
	}
	if got, ok := ParseSignal(h); !ok || got != sig {
		t.Fatalf("ParseSignal: %+v %v", got, ok)
	}
	if _, ok := ParseSignal(http.Header{HeaderInFlight: {"-1"}, HeaderUtilization: {"+Inf"}}); ok {
		t.Fatal("ParseSignal accepts a negative in-flight and an infinite utilization")
	}

	// The proxy writes the balancer's outcomes by their names: each is a
	// request outcome the attacker reads (plan.OutcomeNamed).
	for _, o := range []strategies.Outcome{strategies.OK, strategies.Error5xx, strategies.Timeout, strategies.QueueFull, strategies.ConnectFail} {
		if _, ok := plan.OutcomeNamed(o.String()); !ok {
			t.Errorf("strategies outcome %q is not a request outcome", o)
		}
	}
}

// FuzzRoundTrip checks every header family: encoding a value and decoding
// it gives the value back, and decoding arbitrary text never panics.
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint64(42), int64(20000000), int64(3500000), 3, 0.75, "20000000,3500000", uint8(3))
	f.Add(uint64(0), int64(0), int64(math.MaxInt64), 0, 0.0, "", uint8(0))
	f.Add(uint64(math.MaxUint64), int64(1), int64(2), math.MaxInt32, 1e300, " 1 , x", uint8(250))
	f.Fuzz(func(t *testing.T, n uint64, d0, d1 int64, inFlight int, util float64, text string, o uint8) {
		// Decoding arbitrary text never panics.
		Number(text)
		_, _ = ParseNumber(text, 64)
		_, _ = ParseAttempts(text)
		_, _ = plan.OutcomeNamed(text)
		for gi := range 3 {
			_, _, _ = GroupDemand(text, gi)
		}
		_, _ = ParseSignal(http.Header{HeaderInFlight: {text}, HeaderUtilization: {text}, HeaderServiceTime: {text}})

		// Numbers.
		s := string(AppendNumber(nil, n))
		if s != FormatNumber(n) {
			t.Fatalf("AppendNumber %q, FormatNumber %q", s, FormatNumber(n))
		}
		if v, err := ParseNumber(s, 64); err != nil || v != n {
			t.Fatalf("ParseNumber(%q) = %d, %v", s, v, err)
		}
		if v := Number(s); v != n {
			t.Fatalf("Number(%q) = %d", s, v)
		}
		if v, ok := ParseAttempts(s); n <= math.MaxInt64 && (!ok || uint64(v) != n) {
			t.Fatalf("ParseAttempts(%q) = %d, %v", s, v, ok)
		}

		// Demand: non-negative durations.
		ds := []time.Duration{time.Duration(max(d0, -d0, 0)), time.Duration(max(d1, -d1, 0))}
		h := string(AppendDemand(nil, ds))
		for gi, d := range ds {
			if got, ok, err := GroupDemand(h, gi); err != nil || !ok || got != float64(d) {
				t.Fatalf("GroupDemand(%q, %d) = %v, %v, %v; want %v", h, gi, got, ok, err, float64(d))
			}
		}

		// Load signal: non-negative, finite values.
		if inFlight < 0 || math.IsNaN(util) || math.IsInf(util, 0) || util < 0 {
			return
		}
		sig := strategies.Signal{InFlight: inFlight, Utilization: util, ServiceTime: ds[0]}
		hdr := http.Header{}
		SetSignal(hdr, sig)
		if got, ok := ParseSignal(hdr); !ok || got != sig {
			t.Fatalf("ParseSignal(%v) = %+v, %v; want %+v", hdr, got, ok, sig)
		}

		// Outcomes.
		out := plan.Outcome(o)
		if got, ok := plan.OutcomeNamed(out.String()); ok != (o < uint8(plan.NumOutcomes)) || ok && got != out {
			t.Fatalf("plan.OutcomeNamed(%q) = %v, %v", out.String(), got, ok)
		}
	})
}
