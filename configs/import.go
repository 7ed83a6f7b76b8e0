package configs

import (
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
