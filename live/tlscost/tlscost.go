// Package tlscost measures what terminating TLS costs this machine's CPU,
// as crypto/tls does it: a full handshake, a resumed one and the records
// of a small request and its answer, on the server's side only. The
// figures are what gateway.tls charges a gateway worker in the
// simulator.
//
// Each handshake runs over an in-memory pipe; the server's goroutine is
// locked to its OS thread and its CPU time is read from the thread's own
// clock (getrusage RUSAGE_THREAD on Linux), so the client's half of the
// work is not counted. Elsewhere the server's wall time is used, which
// includes waiting for the client.
package tlscost

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"runtime"
	"slices"
	"time"

	"github.com/edgelab/edgelab/workloads"
)

// Key types.
const (
	RSA2048 = workloads.KeyRSA2048
	P256    = workloads.KeyP256
)

// Costs are the server's CPU time per operation (medians).
type Costs struct {
	// Key is the certificate's key type; ThreadCPU is false when the
	// times are wall times (no per-thread clock here).
	Key       string
	ThreadCPU bool
	// Full and Resumed are a full and a resumed handshake; Record is the
	// records of a 100-byte request and a 100-byte answer, less what the
	// same exchange costs without TLS.
	Full, Resumed, Record time.Duration
	// Client is a full handshake's CPU time on the client's side: what a
	// balancer that re-encrypts to its servers pays for a new connection
	// (balancer.upstream.tls.handshake).
	Client time.Duration
	// Version is the TLS version negotiated and N the handshakes measured
	// of each kind.
	Version string
	N       int
}

// Measure measures n full and n resumed handshakes with a self-signed
// certificate of key type key (RSA2048 or P256).
func Measure(key string, n int) (Costs, error) {
	cert, _, err := Certificate(key)
	if err != nil {
		return Costs{}, err
	}
	return MeasureCert(cert, key, n)
}

// MeasureCert measures n full and n resumed handshakes serving cert (the
// user's own, or one Certificate made); key labels it in Costs. The
// client does not verify the certificate: its half is not measured.
func MeasureCert(cert tls.Certificate, key string, n int) (Costs, error) {
	if n < 1 {
		return Costs{}, errors.New("tlscost: measure at least one handshake")
	}
	srvCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	c := Costs{Key: key, N: n, ThreadCPU: threadCPUAvailable}
	var full, resumed, record, client []time.Duration
	for i := 0; i < n; i++ {
		// A full handshake, which leaves a session ticket in the cache…
		cache := tls.NewLRUClientSessionCache(1)
		cliCfg := &tls.Config{InsecureSkipVerify: true, ServerName: ServerName, ClientSessionCache: cache} //nolint:gosec // measuring, not authenticating
		r, err := exchange(srvCfg, cliCfg)
		if err != nil {
			return c, err
		}
		if r.resumed {
			return c, errors.New("tlscost: a first handshake resumed a session")
		}
		full, record, client = append(full, r.handshake), append(record, r.record), append(client, r.client)
		c.Version = tls.VersionName(r.version)
		// …and one that resumes it.
		r, err = exchange(srvCfg, cliCfg)
		if err != nil {
			return c, err
		}
		if !r.resumed {
			return c, errors.New("tlscost: the second handshake did not resume the session")
		}
		resumed, record = append(resumed, r.handshake), append(record, r.record)
	}
	plain, err := plainExchange(2 * n)
	if err != nil {
		return c, err
	}
	c.Full, c.Resumed, c.Client = median(full), median(resumed), median(client)
	// The records' own cost: the same exchange without TLS costs the
	// pipe and the scheduler, not the crypto.
	c.Record = max(0, median(record)-plain)
	return c, nil
}

// plainExchange is the server's median CPU time for the 100-byte request
// and answer over a bare pipe.
func plainExchange(n int) (time.Duration, error) {
	var d []time.Duration
	for range n {
		a, b := net.Pipe()
		done := make(chan time.Duration, 1)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			buf := make([]byte, 100)
			t0 := cpuNow()
			if _, err := io.ReadFull(b, buf); err != nil {
				done <- -1
				return
			}
			if _, err := b.Write(buf); err != nil {
				done <- -1
				return
			}
			done <- cpuNow() - t0
		}()
		msg := make([]byte, 100)
		_, err1 := a.Write(msg)
		_, err2 := io.ReadFull(a, msg)
		v := <-done
		a.Close()
		b.Close()
		if err := errors.Join(err1, err2); err != nil || v < 0 {
			return 0, fmt.Errorf("tlscost: plain exchange: %v", err)
		}
		d = append(d, v)
	}
	return median(d), nil
}

type result struct {
	handshake, record time.Duration
	client            time.Duration // the client's handshake
	resumed           bool
	version           uint16
}

// exchange runs one connection: the handshake, then a 100-byte request
// and a 100-byte answer, timing the server's side of each.
func exchange(srvCfg, cliCfg *tls.Config) (result, error) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	done := make(chan result, 1)
	errc := make(chan error, 2)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		srv := tls.Server(b, srvCfg)
		t0 := cpuNow()
		if err := srv.Handshake(); err != nil {
			errc <- fmt.Errorf("tlscost: server handshake: %w", err)
			return
		}
		t1 := cpuNow()
		buf := make([]byte, 100)
		if _, err := io.ReadFull(srv, buf); err != nil {
			errc <- fmt.Errorf("tlscost: server read: %w", err)
			return
		}
		if _, err := srv.Write(buf); err != nil {
			errc <- fmt.Errorf("tlscost: server write: %w", err)
			return
		}
		t2 := cpuNow()
		st := srv.ConnectionState()
		done <- result{handshake: t1 - t0, record: t2 - t1, resumed: st.DidResume, version: st.Version}
	}()
	cli := tls.Client(a, cliCfg)
	runtime.LockOSThread()
	c0 := cpuNow()
	err := cli.Handshake()
	clientCPU := cpuNow() - c0
	runtime.UnlockOSThread()
	if err != nil {
		return result{}, fmt.Errorf("tlscost: client handshake: %w", err)
	}
	msg := make([]byte, 100)
	if _, err := cli.Write(msg); err != nil {
		return result{}, fmt.Errorf("tlscost: client write: %w", err)
	}
	if _, err := io.ReadFull(cli, msg); err != nil {
		return result{}, fmt.Errorf("tlscost: client read: %w", err)
	}
	select {
	case r := <-done:
		r.client = clientCPU
		return r, nil
	case err := <-errc:
		return result{}, err
	}
}

// ServerName is the name generated certificates are for.
const ServerName = "edgelab.test"

// Certificate makes a self-signed certificate for ServerName (and for
// 127.0.0.1, ::1 and localhost) with a key of type key (RSA2048 or P256),
// valid for a day, and the pool that trusts it.
func Certificate(key string) (tls.Certificate, *x509.CertPool, error) {
	var priv any
	var pub any
	switch key {
	case RSA2048:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return tls.Certificate{}, nil, err
		}
		priv, pub = k, &k.PublicKey
	case P256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return tls.Certificate{}, nil, err
		}
		priv, pub = k, &k.PublicKey
	default:
		return tls.Certificate{}, nil, fmt.Errorf("tlscost: key %q: want %s or %s", key, RSA2048, P256)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: ServerName}, DNSNames: []string{ServerName, "localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: leaf}, pool, nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
