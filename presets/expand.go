package presets

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is an error in a scenario's preset keys, at a line of its file
// (0 when the value came from --set).
type Problem struct {
	// Line is the 1-based line of the key, or 0.
	Line int
	// Field is the key's path ("balancer.preset").
	Field string
	// Msg says what is wrong.
	Msg string
}

// Error implements error.
func (p *Problem) Error() string { return p.Field + ": " + p.Msg }

// Applied is a preset a scenario used, at the version it ran.
type Applied struct {
	// System is the preset.
	System *System
	// Version is the version it ran at ("" for an unversioned system).
	Version string
	// Tier is the key that selected it.
	Tier Tier
	// Params lists the balancer.params the system's algorithm names put
	// in ("p2c.choices"), which --strategy may set otherwise.
	Params []string
}

// Spec returns "name@version".
func (a Applied) Spec() string { return a.System.Spec(a.Version) }

// Expand expands balancer.preset and gateway.preset in a scenario's root
// mapping, in place, and rewrites each to its "name@version" form. The
// user's keys win over balancer.preset's, which win over gateway.preset's.
// Inserted values carry the line of the preset key that put them there, so
// errors about them point at it.
func Expand(root *yaml.Node) ([]Applied, error) {
	if root == nil || root.Kind != yaml.MappingNode {
		return nil, nil
	}
	var applied []Applied
	for _, tier := range []Tier{Balancer, Gateway} {
		block := child(root, string(tier))
		if block == nil || block.Kind != yaml.MappingNode {
			continue
		}
		key := child(block, "preset")
		if key == nil {
			continue
		}
		a, err := resolveAt(key, tier)
		if err != nil {
			return nil, err
		}
		for _, st := range a.System.At(a.Version) {
			if err := apply(root, st, key.Line); err != nil {
				return nil, err
			}
		}
		key.Value, key.Tag, key.Style = a.Spec(), "!!str", 0
		applied = append(applied, a)
	}
	if len(applied) > 0 {
		// The balancer is governed by balancer.preset when there is one.
		params, err := mapAlgorithms(root, applied[0])
		if err != nil {
			return nil, err
		}
		applied[0].Params = params
	}
	return applied, nil
}

// resolveAt reads a preset key's value.
func resolveAt(key *yaml.Node, tier Tier) (Applied, error) {
	field := tier.Key()
	if key.Kind != yaml.ScalarNode || key.Value == "" {
		return Applied{}, &Problem{Line: key.Line, Field: field, Msg: "want a preset name such as nginx or haproxy@3.2 (`edgelab presets` lists them)"}
	}
	s, v, err := Resolve(key.Value)
	if err != nil {
		return Applied{}, &Problem{Line: key.Line, Field: field, Msg: err.Error()}
	}
	if s.Tier != tier {
		return Applied{}, &Problem{Line: key.Line, Field: field,
			Msg: fmt.Sprintf("%s is a %s preset: select it with %s", s.Name, s.Tier, s.Tier.Key())}
	}
	return Applied{System: s, Version: v, Tier: tier}, nil
}

// apply sets one setting under the user's keys.
func apply(root *yaml.Node, st Setting, line int) error {
	for _, u := range st.Unless {
		if lookup(root, u) != nil {
			return nil
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(st.Value), &doc); err != nil || len(doc.Content) == 0 {
		panic(fmt.Sprintf("preset value %s: %q is not YAML", st.Key, st.Value)) // checked by tests
	}
	setLines(doc.Content[0], line)
	insert(root, splitKey(st.Key), doc.Content[0], line)
	return nil
}

// insert puts value at path under n unless the user wrote the key; a key
// whose value is not a mapping (a block written as null) stops the walk.
func insert(n *yaml.Node, path []string, value *yaml.Node, line int) {
	if n.Kind != yaml.MappingNode || len(path) == 0 {
		return
	}
	seg := path[0]
	name, sel, add := selector(seg)
	c := child(n, name)
	if sel != nil {
		if c == nil && add {
			c = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: line}
			appendKey(n, name, c, line)
		}
		if c == nil || c.Kind != yaml.SequenceNode {
			return
		}
		found := false
		for _, item := range c.Content {
			if v := child(item, sel[0]); v != nil && v.Kind == yaml.ScalarNode && v.Value == sel[1] {
				found = true
				if !add {
					insert(item, path[1:], value, line)
				}
			}
		}
		if !found && add && len(path) == 1 {
			// The system's own element runs first (a throttle before the
			// user's stages).
			c.Content = append([]*yaml.Node{value}, c.Content...)
		}
		return
	}
	if len(path) == 1 {
		if c == nil {
			appendKey(n, name, value, line)
		}
		return
	}
	if c == nil {
		if selectsExisting(path[1:]) {
			return // it sets keys of elements the user wrote: there are none
		}
		c = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line}
		appendKey(n, name, c, line)
	}
	insert(c, path[1:], value, line)
}

// selectsExisting reports whether a path goes through a selector that only
// matches list elements the user wrote ("[type=ratelimit]", not "…+").
func selectsExisting(path []string) bool {
	for _, seg := range path {
		if _, sel, add := selector(seg); sel != nil && !add {
			return true
		}
	}
	return false
}

// mapAlgorithms rewrites the system's own algorithm names in
// balancer.strategy and balancer.compare to catalogue names, and puts the
// parameters that make each the system's under balancer.params (unless
// the user set them).
func mapAlgorithms(root *yaml.Node, a Applied) (inserted []string, err error) {
	b := child(root, "balancer")
	if b == nil || b.Kind != yaml.MappingNode {
		return nil, nil
	}
	var names []*yaml.Node
	if s := child(b, "strategy"); s != nil && s.Kind == yaml.ScalarNode {
		names = append(names, s)
	}
	if c := child(b, "compare"); c != nil && c.Kind == yaml.SequenceNode {
		for _, s := range c.Content {
			if s.Kind == yaml.ScalarNode {
				names = append(names, s)
			}
		}
	}
	byStrategy := map[string]Algorithm{}
	for _, n := range names {
		alg, ok := a.System.Algorithm(n.Value, a.Version)
		if !ok {
			continue
		}
		if prev, dup := byStrategy[alg.Strategy]; dup && !sameParams(prev.Params, alg.Params) {
			return nil, &Problem{Line: n.Line, Field: "balancer.compare",
				Msg: fmt.Sprintf("%s and %s are both %s with other parameters; one run per strategy: compare them with two --set runs", prev.Name, alg.Name, alg.Strategy)}
		}
		byStrategy[alg.Strategy] = alg
		n.Value, n.Tag, n.Style = alg.Strategy, "!!str", 0
		for k, v := range alg.Params {
			path := []string{"balancer", "params", alg.Strategy, k}
			if lookup(root, strings.Join(path, ".")) == nil {
				insert(root, path, scalar(strconv.FormatFloat(v, 'g', -1, 64), n.Line), n.Line)
				inserted = append(inserted, alg.Strategy+"."+k)
			}
		}
	}
	return inserted, nil
}

func sameParams(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// splitKey splits a dotted key, keeping a selector's dots ("[k=v.w]")
// inside its segment.
func splitKey(k string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range k {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
		case '.':
			if depth == 0 {
				out = append(out, k[start:i])
				start = i + 1
			}
		}
	}
	return append(out, k[start:])
}

// selector reads "name[key=value]" (sel = {key, value}) and the "+" that
// adds a matching element when there is none.
func selector(seg string) (name string, sel []string, add bool) {
	name, rest, ok := strings.Cut(seg, "[")
	if !ok {
		return seg, nil, false
	}
	add = strings.HasSuffix(rest, "+")
	rest = strings.TrimSuffix(strings.TrimSuffix(rest, "+"), "]")
	k, v, _ := strings.Cut(rest, "=")
	return name, []string{k, v}, add
}

// lookup returns the node at a dotted path, or nil.
func lookup(n *yaml.Node, key string) *yaml.Node {
	for _, seg := range splitKey(key) {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		n = child(n, seg)
	}
	return n
}

// child returns the value of key in mapping n, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func appendKey(n *yaml.Node, key string, value *yaml.Node, line int) {
	n.Content = append(n.Content, scalar(key, line), value)
}

// scalar is a plain scalar; its tag is resolved from its value when it is
// decoded, as the user's own are.
func scalar(v string, line int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Value: v, Line: line}
}

// setLines gives an inserted value the preset key's line.
func setLines(n *yaml.Node, line int) {
	n.Line, n.Column = line, 0
	for _, c := range n.Content {
		setLines(c, line)
	}
}
