package live

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// CheckAddress refuses a backend or gateway URL that is not on loopback,
// unless allowRemote: live mode attacks only this machine by default.
// A host name must resolve to loopback addresses only.
func CheckAddress(raw string, allowRemote bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: want an http:// or https:// URL", raw)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%q has no host", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return fmt.Errorf("%q: want scheme://host[:port][/path], without credentials, query or fragment", raw)
	}
	if allowRemote {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if !ip.IsLoopback() {
			return fmt.Errorf("%s is not a loopback address; live mode sends load to this machine only unless --allow-remote is given", host)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", host, err)
	}
	for _, a := range addrs {
		if !a.Unmap().IsLoopback() {
			return fmt.Errorf("%s resolves to %s, not a loopback address; live mode sends load to this machine only unless --allow-remote is given", host, a)
		}
	}
	if len(addrs) == 0 {
		return fmt.Errorf("%s resolves to no address", strings.TrimSpace(host))
	}
	return nil
}

// CheckListen refuses a listen address that is not on loopback, unless
// allowRemote ("" is 127.0.0.1).
func CheckListen(addr string, allowRemote bool) error {
	if addr == "" || allowRemote {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: want host:port: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("--listen %q: not a loopback address; edgelab listens on this machine only unless --allow-remote is given", addr)
	}
	return nil
}

// isLoopbackHost reports whether host is a loopback address or localhost.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
