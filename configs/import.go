package configs

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Note is something of a real configuration the import could not map, or
// mapped only approximately, at its place in the file.
type Note struct {
	// At is "file:line".
	At string
	// What is the directive as written; Why says what edgelab does
	// instead.
	What, Why string
}

// String is "file:line: what: why".
func (n Note) String() string { return n.At + ": " + n.What + ": " + n.Why }

// InputError is a configuration that cannot be read (exit 2).
type InputError struct {
	// At is "file:line" (or the file alone), Msg what is wrong.
	At, Msg string
}

// Error implements error.
func (e *InputError) Error() string { return e.At + ": " + e.Msg }

// Imported is a scenario built from a real configuration: YAML whose every
// key says, in a comment, where it came from, and the notes on what was
// left out.
type Imported struct {
	// YAML is the scenario.
	YAML []byte
	// Notes list what was not mapped, or mapped approximately.
	Notes []Note
}

// tree is the scenario being written: keys in the order they were set,
// each value with the place it came from.
type tree struct {
	key, value, from string
	kids             []*tree
}

// set puts value at a dotted path, with a comment saying where it came
// from ("" for none).
func (t *tree) set(path, value, from string) {
	n := t
	for _, seg := range strings.Split(path, ".") {
		var next *tree
		for _, k := range n.kids {
			if k.key == seg {
				next = k
				break
			}
		}
		if next == nil {
			next = &tree{key: seg}
			n.kids = append(n.kids, next)
		}
		n = next
	}
	n.value, n.from = value, from
}

// write renders the tree as YAML, comments aligned after the values.
func (t *tree) write(w io.Writer, indent string) {
	for _, k := range t.kids {
		comment := ""
		if k.from != "" {
			comment = "  # " + k.from
		}
		if len(k.kids) == 0 {
			fmt.Fprintf(w, "%s%s: %s%s\n", indent, k.key, k.value, comment)
			continue
		}
		fmt.Fprintf(w, "%s%s:%s\n", indent, k.key, comment)
		k.write(w, indent+"  ")
	}
}

// yamlString quotes s when YAML would read it as something else.
func yamlString(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r == '-' || r == '_' || r == '.' || r == '/' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			safe = false
		}
	}
	if safe && !strings.ContainsAny(s[:1], "-.0123456789") {
		return s
	}
	return fmt.Sprintf("%q", s)
}

// pick chooses, among the names of a file's upstreams (backends,
// clusters), the one asked for, or the only one.
func pick(file, what string, names []string, want string) (int, error) {
	switch {
	case len(names) == 0:
		return 0, &InputError{At: file, Msg: fmt.Sprintf("no %s: nothing to balance", what)}
	case want == "" && len(names) > 1:
		return 0, &InputError{At: file, Msg: fmt.Sprintf("%d %ss (%s): choose one with --upstream", len(names), what, strings.Join(names, ", "))}
	case want == "":
		return 0, nil
	}
	for i, n := range names {
		if n == want {
			return i, nil
		}
	}
	return 0, &InputError{At: file, Msg: fmt.Sprintf("no %s %q (there are: %s)", what, want, strings.Join(names, ", "))}
}

// render writes an imported scenario: a header naming its source, the
// notes, then the keys with their places.
func render(what, name, file string, t *tree, notes []Note) *Imported {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Scenario of %s %q, written by `edgelab import` from %s.\n", what, name, file)
	b.WriteString("# Each key says where it came from; the load and the service times are not in\n# a configuration: set them (clients.arrival, servers[].service).\n")
	if len(notes) > 0 {
		b.WriteString("# Not mapped, or mapped approximately:\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "#   %s\n", n)
		}
	}
	t.write(&b, "")
	return &Imported{YAML: b.Bytes(), Notes: notes}
}

// serverGroup is the servers list of an import: one group of n instances
// with their weights (omitted when all are 1) and the ones that crash for
// the whole run (down in the configuration). Concurrency and service are
// not in a configuration: placeholders the user replaces.
func serverGroup(name string, n int, weights, down []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[{name: %s, count: %d, concurrency: 4, service: {dist: exponential, mean: 20ms}", yamlString(name), n)
	if len(weights) > 0 && (weights[0] != "1" || !allSame(weights)) {
		fmt.Fprintf(&b, ", weight: [%s]", strings.Join(weights, ", "))
	}
	if len(down) > 0 {
		fmt.Fprintf(&b, ", failures: [{kind: crash, at: 0s, instances: [%s]}]", strings.Join(down, ", "))
	}
	b.WriteString("}]")
	return b.String()
}

func allSame(xs []string) bool {
	for _, x := range xs {
		if x != xs[0] {
			return false
		}
	}
	return true
}
