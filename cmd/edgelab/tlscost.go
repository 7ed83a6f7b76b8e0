package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgelab/edgelab/live/tlscost"
)

func newTLSCostCmd(stdout io.Writer) *cobra.Command {
	var key string
	var n int
	cmd := &cobra.Command{
		Use:   "tls-cost",
		Short: "Measure what terminating TLS costs this machine, as gateway.tls keys",
		Long: `Measure, with Go's crypto/tls on this machine, the server's CPU time for a full
TLS handshake, a resumed one and the records of a small request and its
answer, with a self-signed RSA-2048 or ECDSA P-256 certificate, and print them
as the scenario's gateway.tls keys. The server's goroutine runs on its own OS
thread and its thread CPU clock is read, so the client's half of the work is
not counted (Linux; elsewhere wall time). The figures are medians of -n
handshakes of each kind.`,
		Example: `  edgelab tls-cost
  edgelab tls-cost --key rsa2048 -n 500`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("tls-cost takes no arguments, got %d", len(args))}
			}
			return nil
		},
		RunE: func(*cobra.Command, []string) error {
			if key != tlscost.RSA2048 && key != tlscost.P256 {
				return usageError{fmt.Errorf("--key: %q is not %s or %s", key, tlscost.RSA2048, tlscost.P256)}
			}
			if n < 1 || n > 100000 {
				return usageError{fmt.Errorf("-n: want 1 to 100000 handshakes, got %d", n)}
			}
			c, err := tlscost.Measure(key, n)
			if err != nil {
				return err
			}
			clock := "thread CPU time"
			if !c.ThreadCPU {
				clock = "wall time (no thread CPU clock here)"
			}
			fmt.Fprintf(stdout, "# %s, %s certificate, server side, median of %d handshakes of each kind (%s)\n", c.Version, key, c.N, clock)
			fmt.Fprintf(stdout, "gateway:\n  tls: {full: %s, resumed: %s, record: %s}\n", c.Full.Round(time.Microsecond), c.Resumed.Round(time.Microsecond), c.Record.Round(time.Microsecond))
			fmt.Fprintf(stdout, "# re-encrypting to the servers, a client's full handshake:\nbalancer:\n  upstream: {tls: {handshake: %s, record: %s}}\n", c.Client.Round(time.Microsecond), c.Record.Round(time.Microsecond))
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", tlscost.RSA2048, "the certificate's key: rsa2048 or p256")
	cmd.Flags().IntVarP(&n, "n", "n", 200, "handshakes of each kind to measure")
	return cmd
}
