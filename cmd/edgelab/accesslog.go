package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgelab/edgelab/traces"
)

// accessLogs are the access logs a run writes (--access-log), one per
// strategy, each to a temporary file in the output directory renamed into
// place once the run is over: a failed run leaves none behind.
type accessLogs struct {
	dir, format string
	files       []*os.File
	names       []string
}

// newAccessLogs checks --access-log's format; nil when none was asked for.
func newAccessLogs(dir, format string) (*accessLogs, error) {
	if format == "" {
		return nil, nil
	}
	for _, f := range traces.WriteFormats {
		if f == format {
			return &accessLogs{dir: dir, format: format}, nil
		}
	}
	return nil, usageError{fmt.Errorf("--access-log: %q is not a format edgelab writes (%s)", format, strings.Join(traces.WriteFormats, ", "))}
}

// open starts the log of one strategy.
func (l *accessLogs) open(strategy string) (io.Writer, error) {
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(l.dir, ".access-*")
	if err != nil {
		return nil, err
	}
	l.files = append(l.files, f)
	l.names = append(l.names, filepath.Join(l.dir, traces.LogName(strategy, l.format)))
	return f, nil
}

// commit closes the logs and renames them into place; it returns their
// paths.
func (l *accessLogs) commit() ([]string, error) {
	if l == nil {
		return nil, nil
	}
	for i, f := range l.files {
		if err := f.Chmod(0o644); err != nil {
			l.abort()
			return nil, fmt.Errorf("access log: %w", err)
		}
		if err := f.Close(); err != nil {
			l.abort()
			return nil, fmt.Errorf("access log: %w", err)
		}
		if err := os.Rename(f.Name(), l.names[i]); err != nil {
			l.abort()
			return nil, fmt.Errorf("access log: %w", err)
		}
	}
	return l.names, nil
}

// abort removes the logs not yet renamed.
func (l *accessLogs) abort() {
	if l == nil {
		return
	}
	for _, f := range l.files {
		f.Close()
		os.Remove(f.Name())
	}
}
