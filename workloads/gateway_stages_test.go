package workloads_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/edgelab/edgelab/workloads"
)

// withStages is validYAML with a gateway (line 10) whose stages are one
// line each, from line 12.
func withStages(stages ...string) string {
	s := validYAML + "gateway:\n  stages:\n"
	for _, st := range stages {
		s += "    - " + st + "\n"
	}
	return s
}

func TestGatewayStageKeys(t *testing.T) {
	sc := mustParse(t, withStages("{type: auth, reject: 0.1}", "{type: transform, headers: {rename: {X-Api-Key: X-Key}, remove: [Cookie], set: {X-Env: lab}}}"))
	st := sc.Gateway.Stages
	if st[0].Alg != workloads.AuthHS256 {
		t.Errorf("default alg %q, want HS256", st[0].Alg)
	}
	h := st[1].Headers
	if h == nil || h.Rename["X-Api-Key"] != "X-Key" || len(h.Remove) != 1 || h.Remove[0] != "Cookie" || h.Set["X-Env"] != "lab" {
		t.Errorf("headers %+v", h)
	}
	if sc := mustParse(t, withStages("{type: auth, alg: RS256}")); sc.Gateway.Stages[0].Alg != workloads.AuthRS256 {
		t.Errorf("alg %q", sc.Gateway.Stages[0].Alg)
	}
}

func TestGatewayStageKeyErrors(t *testing.T) {
	cases := []struct {
		stages []string
		line   int
		field  string
		want   string
	}{
		{[]string{"{type: auth, alg: HS512}"}, 12, "gateway.stages[0].alg", `"HS512" is not one of: HS256, RS256`},
		{[]string{"{type: auth, alg: rs256}"}, 12, "gateway.stages[0].alg", "is not one of"},
		{[]string{"{type: log}", "{type: ratelimit, rate: 10, alg: HS256}"}, 13, "gateway.stages[1].alg", "a ratelimit stage does not take alg"},
		{[]string{"{type: auth, headers: {remove: [Cookie]}}"}, 12, "gateway.stages[0].headers", "stage does not take headers"},
		{[]string{"{type: transform, headers: {remove: [X-Edgelab-Key]}}"}, 12, "gateway.stages[0].headers.remove[0]", "carries the lab's request identity"},
		{[]string{"{type: transform, headers: {remove: [Host]}}"}, 12, "gateway.stages[0].headers.remove[0]", "HTTP framing"},
		{[]string{"{type: transform, headers: {set: {'Bad Name': x}}}"}, 12, "gateway.stages[0].headers.set", "not a valid header name"},
		{[]string{"{type: transform, headers: {set: {X-A: \"a\\nb\"}}}"}, 12, "gateway.stages[0].headers.set", "one line"},
		{[]string{"{type: transform, headers: {rename: {X-A: Content-Length}}}"}, 12, "gateway.stages[0].headers.rename", "HTTP framing"},
		{[]string{"{type: transform, headers: {sett: {X-A: b}}}"}, 12, "gateway.stages[0].headers.sett", "unknown key"},
	}
	for _, c := range cases {
		y := withStages(c.stages...)
		_, err := workloads.Parse([]byte(y), "gw.yaml", nil)
		var e *workloads.Error
		if !errors.As(err, &e) {
			t.Errorf("%v: error %v, want a *workloads.Error", c.stages, err)
			continue
		}
		if e.File != "gw.yaml" || e.Line != c.line || e.Field != c.field || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v:\n got %q (line %d, field %q)\nwant line %d field %q containing %q", c.stages, err, e.Line, e.Field, c.line, c.field, c.want)
		}
	}
}
