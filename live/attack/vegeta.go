package attack

import (
	"bufio"
	"io"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// VegetaLog is a stream of vegeta results in vegeta's own gob format, as
// `vegeta attack` writes it, so `vegeta report` and `vegeta plot` read it.
// One log may take the results of several attacks (a run's strategies,
// each under its attack name): one gob stream, unlike files concatenated.
// It is not safe for concurrent attacks.
type VegetaLog struct {
	w   *bufio.Writer
	enc vegeta.Encoder
}

// NewVegetaLog returns a log writing to w (buffered: Flush at the end).
func NewVegetaLog(w io.Writer) *VegetaLog {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &VegetaLog{w: bw, enc: vegeta.NewEncoder(bw)}
}

// Flush writes out what is buffered.
func (l *VegetaLog) Flush() error { return l.w.Flush() }
