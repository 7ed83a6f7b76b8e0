// Command edgelab simulates (and, with later commands, measures) load
// balancers and API gateways from one YAML scenario.
//
//	edgelab run [SCENARIO.yaml] [--out DIR] [--strategy a,b] [--seed N] [--set k=v]... [--json]
//
// Exit codes: 0 success, 1 a run that cannot start or fails, 2 bad input,
// 130 interrupted (partial results were written).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/edgelab/edgelab/experiment"
	"github.com/edgelab/edgelab/workloads"
)

// usageError marks bad command-line input (exit 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func exitCode(err error) int {
	var ue usageError
	if err == nil {
		return 0
	}
	var se *experiment.ShardError
	if errors.As(err, &ue) || errors.As(err, &se) || workloads.IsInputError(err) || isUnknownCommand(err) {
		return 2
	}
	var ie errInterrupted
	if errors.As(err, &ie) {
		return 130
	}
	return 1
}

// isUnknownCommand recognises cobra's error for an unknown subcommand
// ("edgelab frobnicate"), which cobra returns as a plain error.
func isUnknownCommand(err error) bool {
	return strings.HasPrefix(err.Error(), "unknown command ")
}

func main() {
	// The first Ctrl-C (or SIGTERM) cancels the command, which writes what
	// it has, marked partial; then the default handling is back, so a
	// second one ends the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the CLI with args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := newRootCmd(stdout, stderr)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "edgelab:", err)
	}
	return exitCode(err)
}
