package gateway

import (
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/workloads"
)

// authRS256ForTest is one RS256 Auth for every test (key generation takes
// a while, longer under -race): seed 7, rep 0, reject 0.25.
var authRS256ForTest = sync.OnceValues(func() (*Auth, error) { return NewAuth(workloads.AuthRS256, 7, 0, 0.25) })

func rsAuth(t *testing.T) *Auth {
	t.Helper()
	a, err := authRS256ForTest()
	if err != nil {
		t.Fatalf("NewAuth RS256: %v", err)
	}
	return a
}

func hsAuth(t *testing.T, seed uint64, reject float64) *Auth {
	t.Helper()
	a, err := NewAuth(workloads.AuthHS256, seed, 0, reject)
	if err != nil {
		t.Fatalf("NewAuth HS256: %v", err)
	}
	return a
}

// authClaims are claims the verifier accepts, expiring at exp.
func authClaims(exp time.Time) jwt.RegisteredClaims {
	return jwt.RegisteredClaims{Issuer: authIssuer, Audience: jwt.ClaimStrings{authAudience}, Subject: "alice",
		ExpiresAt: jwt.NewNumericDate(exp)}
}

func signed(t *testing.T, m jwt.SigningMethod, c jwt.Claims, key any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", m.Alg(), err)
	}
	return s
}

// TestJWTAcceptReject runs tokens through an auth stage's middleware:
// only correctly signed, unexpired tokens of the pinned algorithm with the
// lab's issuer and audience reach upstream.
func TestJWTAcceptReject(t *testing.T) {
	hs, rs := hsAuth(t, 7, 0), rsAuth(t)
	later, past := time.Now().Add(time.Hour), time.Now().Add(-time.Hour)
	otherHS := []byte("0123456789abcdef0123456789abcdef")
	cases := []struct {
		name   string
		auth   *Auth
		header string // Authorization
		ok     bool
	}{
		{"valid HS256", hs, "Bearer " + signed(t, jwt.SigningMethodHS256, authClaims(later), hs.secret), true},
		{"valid HS256 minted", hs, "Bearer " + hs.Token(1), true},
		{"valid RS256", rs, "Bearer " + signed(t, jwt.SigningMethodRS256, authClaims(later), rs.priv), true},
		{"scheme is case-insensitive", rs, "bearer " + signed(t, jwt.SigningMethodRS256, authClaims(later), rs.priv), true},
		{"alg none vs HS256", hs, "Bearer " + signed(t, jwt.SigningMethodNone, authClaims(later), jwt.UnsafeAllowNoneSignatureType), false},
		{"alg none vs RS256", rs, "Bearer " + signed(t, jwt.SigningMethodNone, authClaims(later), jwt.UnsafeAllowNoneSignatureType), false},
		{"HS/RS confusion: HS256 keyed with the RSA public key PEM", rs, "Bearer " + signed(t, jwt.SigningMethodHS256, authClaims(later), rs.publicKeyPEM()), false},
		{"HS512 with the right secret (alg pin)", hs, "Bearer " + signed(t, jwt.SigningMethodHS512, authClaims(later), hs.secret), false},
		{"RS256 token vs HS256 verifier", hs, "Bearer " + signed(t, jwt.SigningMethodRS256, authClaims(later), rs.priv), false},
		{"bad signature HS256 (other secret)", hs, "Bearer " + signed(t, jwt.SigningMethodHS256, authClaims(later), otherHS), false},
		{"bad signature RS256 (altered)", rs, "Bearer " + corruptSignature(signed(t, jwt.SigningMethodRS256, authClaims(later), rs.priv)), false},
		{"expired HS256", hs, "Bearer " + signed(t, jwt.SigningMethodHS256, authClaims(past), hs.secret), false},
		{"expired RS256", rs, "Bearer " + signed(t, jwt.SigningMethodRS256, authClaims(past), rs.priv), false},
		{"no exp", hs, "Bearer " + signed(t, jwt.SigningMethodHS256, jwt.RegisteredClaims{Issuer: authIssuer, Audience: jwt.ClaimStrings{authAudience}}, hs.secret), false},
		{"wrong issuer", hs, "Bearer " + signed(t, jwt.SigningMethodHS256, jwt.RegisteredClaims{Issuer: "evil", Audience: jwt.ClaimStrings{authAudience}, ExpiresAt: jwt.NewNumericDate(later)}, hs.secret), false},
		{"wrong audience", hs, "Bearer " + signed(t, jwt.SigningMethodHS256, jwt.RegisteredClaims{Issuer: authIssuer, Audience: jwt.ClaimStrings{"other"}, ExpiresAt: jwt.NewNumericDate(later)}, hs.secret), false},
		{"garbage", hs, "Bearer not.a.jwt", false},
		{"garbage RS256", rs, "Bearer eyJhbGciOiJSUzI1NiJ9", false},
		{"basic scheme", hs, "Basic dXNlcjpwYXNz", false},
		{"empty bearer", hs, "Bearer ", false},
		{"missing header", hs, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := &workloads.Gateway{Stages: []workloads.Stage{{Type: workloads.StageAuth, Alg: c.auth.algorithm(), Reject: c.auth.rejectShare()}}}
			st, err := NewStages(g, StageOptions{Seed: 7, Auth: c.auth})
			if err != nil {
				t.Fatal(err)
			}
			var subject string
			called := false
			h := st.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called, subject = true, r.Header.Get(headerAuthSubject)
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set(headerAuthSubject, "spoofed")
			if c.header != "" {
				req.Header.Set("Authorization", c.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if c.ok {
				if rec.Code != http.StatusOK || !called {
					t.Fatalf("status %d, upstream called %v; want 200 and called", rec.Code, called)
				}
				if subject == "" || subject == "spoofed" {
					t.Errorf("upstream saw %s %q, want the token's subject", headerAuthSubject, subject)
				}
				return
			}
			if rec.Code != http.StatusUnauthorized || called {
				t.Fatalf("status %d, upstream called %v; want 401 and not called", rec.Code, called)
			}
			if o := rec.Header().Get(wire.HeaderOutcome); o != "auth_rejected" {
				t.Errorf("outcome %q, want auth_rejected", o)
			}
			if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("no Bearer challenge: %q", rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

// TestAuthMintedTokens checks every pre-minted token (valid ones verify,
// each invalid one fails) and that Token hands out an invalid token
// exactly for the simulator's rejected requests: over seqs 1..10 000 the
// decision equals engine.Uniform(engine.Key(seed, rep, "auth"), seq, 0) <
// reject per seq, and the rejected fraction is within 0.015 of reject
// (five binomial standard deviations at 0.25; deterministic for the seed).
func TestAuthMintedTokens(t *testing.T) {
	for _, a := range []*Auth{hsAuth(t, 7, 0.25), rsAuth(t)} {
		t.Run(a.algorithm(), func(t *testing.T) {
			valid := map[string]bool{}
			for _, tok := range a.valid {
				if _, err := a.verify(tok); err != nil {
					t.Fatalf("minted valid token rejected: %v", err)
				}
				valid[tok] = true
			}
			// Each flaw is rejected for its own reason.
			why := [numFlaws]error{flawBadSignature: jwt.ErrTokenSignatureInvalid, flawExpired: jwt.ErrTokenExpired,
				flawAlgNone: jwt.ErrTokenSignatureInvalid, flawAlgConfusion: jwt.ErrTokenSignatureInvalid}
			for f, set := range a.invalid {
				if len(set) == 0 {
					t.Fatalf("no %v tokens", tokenFlaw(f))
				}
				for _, tok := range set {
					if _, err := a.verify(tok); !errors.Is(err, why[f]) {
						t.Fatalf("%v token: error %v, want %v", tokenFlaw(f), err, why[f])
					}
				}
			}
			key := engine.Key(7, 0, "auth")
			const n = 10000
			rejected := 0
			flaws := map[tokenFlaw]int{}
			for seq := uint64(1); seq <= n; seq++ {
				simRejects := engine.Uniform(key, seq, 0) < 0.25
				if a.rejects(seq) != simRejects {
					t.Fatalf("seq %d: Rejects %v, simulator %v", seq, a.rejects(seq), simRejects)
				}
				if valid[a.Token(seq)] == simRejects {
					t.Fatalf("seq %d: token valid %v, simulator rejects %v", seq, valid[a.Token(seq)], simRejects)
				}
				if simRejects {
					rejected++
					flaws[a.flaw(seq)]++
				}
			}
			if frac := float64(rejected) / n; math.Abs(frac-0.25) > 0.015 {
				t.Errorf("rejected fraction %.4f, want 0.25 ± 0.015", frac)
			}
			if len(flaws) != int(numFlaws) {
				t.Errorf("flaws used %v, want all %d", flaws, numFlaws)
			}
		})
	}
}

func TestAuthNoRejectAndErrors(t *testing.T) {
	a := hsAuth(t, 3, 0)
	for seq := uint64(1); seq <= 1000; seq++ {
		if a.rejects(seq) {
			t.Fatalf("reject 0 rejects seq %d", seq)
		}
	}
	if _, err := NewAuth("HS384", 1, 0, 0); err == nil || !strings.Contains(err.Error(), "HS384") {
		t.Errorf("unknown alg: err %v", err)
	}
	if _, err := NewAuth("", 1, 0, 1.5); err == nil {
		t.Error("reject 1.5 accepted")
	}
	if a, err := NewAuth("", 1, 0, 0); err != nil || a.algorithm() != workloads.AuthHS256 || a.publicKeyPEM() != nil {
		t.Errorf("default alg: %v, %v", a, err)
	}
	// The stage refuses keys that do not fit it.
	g := &workloads.Gateway{Stages: []workloads.Stage{{Type: workloads.StageAuth, Alg: workloads.AuthRS256}}}
	for _, opt := range []StageOptions{{}, {Auth: a}, {Seed: 2, Auth: hsAuth(t, 1, 0)}} {
		if _, err := NewStages(g, opt); err == nil {
			t.Errorf("NewStages accepted %+v", opt)
		}
	}
}

func BenchmarkAuthToken(b *testing.B) {
	a, err := NewAuth(workloads.AuthHS256, 1, 0, 0.1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = a.Token(uint64(i))
	}
}
