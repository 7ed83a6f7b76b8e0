package gateway

import (
	"io"
	"net/http"

	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/plan"
)

// authStage verifies the request's bearer token with a. A request without
// a valid token is answered 401 with X-Edgelab-Outcome: auth_rejected and
// an RFC 6750 WWW-Authenticate challenge; an accepted one goes on with
// X-Auth-Subject set to the token's subject.
func authStage(a *Auth) func(http.ResponseWriter, *http.Request, *reqState) bool {
	return func(w http.ResponseWriter, r *http.Request, _ *reqState) bool {
		tok, ok := bearer(r.Header)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="edgelab"`)
			refuse(w, http.StatusUnauthorized, plan.AuthRejected.String(), "missing bearer token")
			return true
		}
		sub, err := a.verify(tok)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="edgelab", error="invalid_token"`)
			refuse(w, http.StatusUnauthorized, plan.AuthRejected.String(), "invalid token")
			return true
		}
		r.Header.Set(headerAuthSubject, sub)
		return false
	}
}

// refuse answers a request the gateway itself rejects, naming the outcome.
func refuse(w http.ResponseWriter, code int, outcome, msg string) {
	h := w.Header()
	h.Set(wire.HeaderOutcome, outcome)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}
