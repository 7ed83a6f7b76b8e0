package gateway

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Modes of the hostile backend, the fuzz input's first byte.
const (
	fzClose   = 1 << iota // close the connection after the fuzzed answer
	fzEndless             // follow it with header lines, endlessly (1 MiB)
	fzHead                // the first request is a HEAD
)

// fzBackend is a loopback backend that answers request 1 (X-Fuzz-Id: 1)
// with the fuzzed bytes and every other request with a genuine answer
// that names it and carries a nonce the fuzzed bytes cannot contain.
type fzBackend struct {
	ln      net.Listener
	mode    byte
	payload []byte
	nonce   string
	wg      sync.WaitGroup

	mu        sync.Mutex
	conns     []net.Conn
	reusedBad bool // a request came on the connection after the fuzzed answer
}

func (b *fzBackend) genuine(id string) string { return "genuine-" + id + "-" + b.nonce }

func (b *fzBackend) serve() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns = append(b.conns, c)
		b.mu.Unlock()
		b.wg.Add(1)
		go b.serveConn(c)
	}
}

func (b *fzBackend) serveConn(c net.Conn) {
	defer b.wg.Done()
	defer c.Close()
	br := bufio.NewReader(c)
	fuzzed := false
	for {
		if fuzzed {
			// After a fuzzed answer the client may be waiting for bytes
			// that never come: end it soon, as an early close.
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		id := req.Header.Get("X-Fuzz-Id")
		if fuzzed {
			b.mu.Lock()
			b.reusedBad = true
			b.mu.Unlock()
		}
		if id != "1" {
			body := b.genuine(id)
			if _, err := fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body); err != nil {
				return
			}
			continue
		}
		fuzzed = true
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := c.Write(b.payload); err != nil {
			return
		}
		if b.mode&fzEndless != 0 {
			line := []byte("X-Filler: " + strings.Repeat("a", 1000) + "\r\n")
			for range 1 << 10 {
				if _, err := c.Write(line); err != nil {
					return
				}
			}
		}
		if b.mode&fzClose != 0 {
			return
		}
	}
}

func (b *fzBackend) close() {
	_ = b.ln.Close()
	b.mu.Lock()
	for _, c := range b.conns {
		_ = c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// fzSeeds are hostile answers: each case the client must survive.
var fzSeeds = []struct {
	mode    byte
	payload string
}{
	{0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"},                            // well formed: the connection may be reused
	{0, "garbage\r\n\r\n"},                                                           // not a status line
	{0, "HTTP/1.1 abc OK\r\n\r\n"},                                                   // bad status code
	{0, "HTTP/1.1 99 Odd\r\nContent-Length: 0\r\n\r\n"},                              // status below 100
	{0, "HTTP/9.9 200 OK\r\nContent-Length: 0\r\n\r\n"},                              // unknown version
	{0, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"},                       // Content-Length lies: too long
	{0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhello"},                         // Content-Length lies: too short
	{0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhey"},      // conflicting lengths
	{0, "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"},                             // negative length
	{0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},               // bad chunk size
	{0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"}, // chunked, well formed
	{0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n2\r\nhi\r\n0\r\n\r\n"},
	{fzClose, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"}, // early close mid-body
	{fzClose, "HTTP/1.1 200 OK\r\nX-A: "},                         // early close mid-header
	{fzClose, ""},                                                 // close without a byte
	{fzClose, "HTTP/1.1 200 OK\r\n\r\nuntil close"},               // body until close
	{fzEndless, "HTTP/1.1 200 OK\r\n"},                            // endless headers
	{fzEndless | fzClose, "HTTP/1.1 200 OK\r\n"},                  // endless headers, then close
	// Extra answers pipelined after the real one, one of them shaped
	// like the next request's.
	{0, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\ngenuine-2"},
	{0, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"},
	{fzHead, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\ngenuine-2"}, // a body after a HEAD answer
	{0, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz"},
	{0, strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", 7) + "HTTP/1.1 200 OK\r\n\r\n"},
	{0, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n"},
	{0, "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"},
	{0, "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nz"},
	{0, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nz"},
	{0, "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n"},
	{0, "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n"},
	{0, "HTTP/1.1 200 OK\n\nz"}, // bare LF
}

// FuzzUpstreamClient runs the proxy's upstream client against a backend
// whose answer to the first request is the fuzzed bytes, then sends two
// more requests. Properties: no panic; a request that succeeds gets its
// own genuine answer, never bytes meant as another's; a connection is
// not used again after an answer that failed to parse or was framed
// wrong.
func FuzzUpstreamClient(f *testing.F) {
	for _, s := range fzSeeds {
		f.Add(append([]byte{s.mode}, s.payload...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || len(data) > 1<<16 {
			return
		}
		var nonce [8]byte
		_, _ = rand.Read(nonce[:])
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		b := &fzBackend{ln: ln, mode: data[0], payload: data[1:], nonce: hex.EncodeToString(nonce[:])}
		b.wg.Add(1)
		go b.serve()
		defer b.close()
		c := newPxClient(1, 4, 4, time.Minute, time.Second, 4<<10)
		defer c.close()
		tg := &target{addr: ln.Addr().String(), host: "fuzz"}
		do := func(id int, method string) (upAnswer, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			out := &upRequest{method: method, uri: "/", header: http.Header{"X-Fuzz-Id": {fmt.Sprint(id)}}, attempt: -1}
			return c.do(ctx, 0, tg, out, 1<<20)
		}
		method := http.MethodGet
		if b.mode&fzHead != 0 {
			method = http.MethodHead
		}
		_, err1 := do(1, method)
		for id := 2; id <= 3; id++ {
			in, err := do(id, http.MethodGet)
			if err != nil {
				continue // a failure is an answer; a wrong answer is not
			}
			if got, want := string(in.body), b.genuine(fmt.Sprint(id)); in.status != 200 || got != want {
				t.Fatalf("request %d got %d %q, not its own answer %q (request 1: %v)", id, in.status, got, want, err1)
			}
		}
		b.mu.Lock()
		reused := b.reusedBad
		b.mu.Unlock()
		if reused && err1 != nil {
			t.Fatalf("connection used again after request 1 failed: %v", err1)
		}
	})
}
