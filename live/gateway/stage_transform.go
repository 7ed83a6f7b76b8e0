package gateway

import (
	"net/http"
	"sort"
	"strconv"
	"sync/atomic"

	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/workloads"
)

// headerRequestID is the request id a transform stage guarantees: an
// incoming well-formed value is kept (propagated), otherwise the stage
// sets "edgelab-<seq>" from X-Edgelab-Seq, or "gw<instance>-<n>" without
// one. It is echoed on the answer.
const headerRequestID = "X-Request-Id"

// transform is the transform stage: a request id, then the scenario's
// header rules (rename, remove, set), on the request before it is
// forwarded.
type transform struct {
	prefix string // "gw<instance>-"
	ids    *atomic.Uint64
	rename [][2]string
	remove []string
	set    [][2]string
}

func newTransform(instance int, rules *workloads.HeaderRules, ids *atomic.Uint64) *transform {
	t := &transform{prefix: "gw" + strconv.Itoa(instance) + "-", ids: ids}
	if rules == nil {
		return t
	}
	pairs := func(m map[string]string) [][2]string {
		out := make([][2]string, 0, len(m))
		for k, v := range m {
			out = append(out, [2]string{http.CanonicalHeaderKey(k), v})
		}
		sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
		return out
	}
	t.rename = pairs(rules.Rename)
	for i := range t.rename {
		t.rename[i][1] = http.CanonicalHeaderKey(t.rename[i][1])
	}
	for _, k := range rules.Remove {
		t.remove = append(t.remove, http.CanonicalHeaderKey(k))
	}
	t.set = pairs(rules.Set)
	return t
}

// run applies the transform to r (never answers).
func (t *transform) run(w http.ResponseWriter, r *http.Request, _ *reqState) bool {
	h := r.Header
	id := h.Get(headerRequestID)
	if !validRequestID(id) {
		if seq := h.Get(wire.HeaderSeq); seq != "" && isDigits(seq) {
			id = "edgelab-" + seq
		} else {
			id = t.prefix + strconv.FormatUint(t.ids.Add(1), 10)
		}
		h.Set(headerRequestID, id)
	}
	w.Header().Set(headerRequestID, id)
	for _, p := range t.rename {
		if vs, ok := h[p[0]]; ok {
			delete(h, p[0])
			h[p[1]] = vs
		}
	}
	for _, k := range t.remove {
		delete(h, k)
	}
	for _, p := range t.set {
		h.Set(p[0], p[1])
	}
	return false
}

// validRequestID accepts 1 to 128 visible ASCII characters.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0 && len(s) <= 20
}
