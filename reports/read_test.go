package reports

import (
	"encoding/json"
	"errors"
	"io"
	"testing"
)

// FuzzReadResults: whatever a results.json holds, ReadResults refuses it
// or every writer renders it without a panic.
func FuzzReadResults(f *testing.F) {
	s := &Series{IntervalS: 1, T: []float64{1, 2}, Offered: []int64{3, 4}, OK: []int64{3, 4}, P50MS: []float64{1, 2},
		P99MS: []float64{2, 3}, Healthy: []int{2, 2}, Instances: []int{2, 2},
		InFlight: [][]float64{{1, 0}, {0, 1}}, Utilization: [][]float64{{0.5, 0.1}, {0.2, 0.3}}}
	res := Results{Scenario: "fuzz", Mode: "sim", DurationS: 2, Runs: []Run{{Strategy: "p2c", Requests: 7, OK: 7,
		Servers: []Server{{ID: "web-0"}, {ID: "web-1"}}, Series: s}},
		Failures: []FailureWindow{{Server: "web-0", Kind: "crash", StartS: 0.5, EndS: 1}}}
	seed, err := json.Marshal(&res)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"scenario":"x","runs":[{"series":{"t_s":[1,2],"ok":[1]}}]}`))
	f.Add([]byte(`{"scenario":"x","runs":[{"servers":[{"id":"a"}],"series":{"t_s":[1],"utilization":[[1,2]]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ReadResults(data)
		if err != nil {
			return
		}
		for _, w := range []func(io.Writer, *Results) error{WriteText, WriteSummaryCSV, WriteSeriesCSV, WriteInstanceSeriesCSV,
			func(w io.Writer, r *Results) error { return WriteHTML(w, r, HTMLOptions{}) }} {
			if err := w(io.Discard, r); err != nil && !errors.Is(err, ErrNoECharts) {
				t.Logf("writer error (not a panic): %v", err)
			}
		}
	})
}
