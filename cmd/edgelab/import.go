package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/edgelab/edgelab/configs"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/workloads"
)

type importFlags struct {
	format, upstream, out string
}

func newImportCmd(stdout, stderr io.Writer) *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "import CONFIG",
		Short: "Write the scenario of a real NGINX upstream, HAProxy backend or Envoy cluster",
		Long: `Read a real configuration and write the scenario of one of its upstreams:
the system's preset, the servers with their weights (and those marked down),
the balancing method, passive health, retries, timeouts and rate limits, each
key with a comment naming the file and line it came from. Whatever the import
could not map is listed (file:line and why) on stderr and at the top of the
scenario, never dropped in silence. The load and the service times are not in
a configuration: set clients.arrival and servers[].service.

NGINX is read with github.com/tufanbarisyildirim/gonginx, includes followed.
HAProxy has no parser module available, so edgelab reads the subset a
balancer's behaviour depends on (defaults, backend, listen: balance, retries,
retry-on, option redispatch and abortonclose, timeout, default-server and
server). Envoy bootstraps (YAML or JSON) and lone clusters are read with
Envoy's own protos (github.com/envoyproxy/go-control-plane) and protojson.`,
		Example: `  edgelab import /etc/nginx/nginx.conf --upstream api --out api.yaml
  edgelab run api.yaml`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{errors.New("want one configuration file")}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return runImport(args[0], f, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "", "the configuration's format: nginx, haproxy or envoy (default: from the file's name)")
	fl.StringVar(&f.upstream, "upstream", "", "the upstream (NGINX), backend (HAProxy) or cluster (Envoy) to import, needed when the file has several")
	fl.StringVarP(&f.out, "out", "o", "", "write the scenario to this file (default: stdout)")
	return cmd
}

func runImport(file string, f importFlags, stdout, stderr io.Writer) error {
	format := f.format
	if format == "" {
		format = guessFormat(file)
	}
	var im *configs.Imported
	var err error
	switch format {
	case configs.NGINX:
		im, err = configs.ImportNGINX(file, configs.ImportOptions{Upstream: f.upstream})
	case configs.HAProxy:
		im, err = configs.ImportHAProxy(file, configs.ImportOptions{Upstream: f.upstream})
	case configs.Envoy:
		im, err = configs.ImportEnvoy(file, configs.ImportOptions{Upstream: f.upstream})
	default:
		return usageError{fmt.Errorf("%s: cannot tell the format; give --format nginx, haproxy or envoy", file)}
	}
	var ie *configs.InputError
	if errors.As(err, &ie) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	// What import writes must load as it is.
	if _, err := workloads.Parse(im.YAML, "imported scenario", nil); err != nil {
		return fmt.Errorf("import wrote a scenario that does not load (a bug, please report): %w", err)
	}
	for _, n := range im.Notes {
		fmt.Fprintf(stderr, "edgelab: import: not mapped: %s\n", n)
	}
	if f.out == "" {
		_, err := stdout.Write(im.YAML)
		return err
	}
	if err := reports.WriteFileAtomic(f.out, im.YAML); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	fmt.Fprintf(stderr, "wrote %s\n", f.out)
	return nil
}

// guessFormat tells a configuration's format from its name: NGINX's end
// in .conf or are named nginx*.
func guessFormat(file string) string {
	base := strings.ToLower(filepath.Base(file))
	switch {
	case strings.Contains(base, "nginx") || strings.HasSuffix(base, ".conf"):
		return configs.NGINX
	case strings.Contains(base, "haproxy") || strings.HasSuffix(base, ".cfg"):
		return "haproxy"
	case strings.Contains(base, "envoy") || strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, ".json"):
		return configs.Envoy
	}
	return ""
}
