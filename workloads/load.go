package workloads

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/edgelab/edgelab/presets"
)

// Error is a problem with a scenario, located by file, line and field.
type Error struct {
	// File is the scenario's path (or a pseudo-name such as "--set").
	File string
	// Line is the 1-based line, or 0 when unknown.
	Line int
	// Field is the key path ("clients.arrival.rate"), if known.
	Field string
	// Msg says what is wrong.
	Msg string
}

// Error implements error: "file:line: field: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// IsInputError reports whether err is (or wraps) a scenario Error.
func IsInputError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

//go:embed quickstart.yaml
var quickstart []byte

// QuickstartName is the file name shown for the embedded quick-start.
const QuickstartName = "quickstart.yaml (embedded)"

// Quickstart returns the embedded quick-start scenario's YAML.
func Quickstart() []byte { return bytes.Clone(quickstart) }

// Load reads, overrides, defaults and validates the scenario at path.
// sets are "key.path=value" overrides applied before validation.
func Load(path string, sets []string) (*Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read: %v", unwrapPathErr(err))}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read: %v", unwrapPathErr(err))}
	}
	return Parse(data, path, sets)
}

// MaxFileSize bounds a scenario file. A scenario is a page of YAML; the
// largest sensible one (a weight and a speed for each of 100,000
// instances) is well under it, while a parser's tree of a 20 MB file takes
// gigabytes.
const MaxFileSize = 4 << 20

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse is Load for YAML already in memory; file names it in errors.
func Parse(data []byte, file string, sets []string) (*Scenario, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{File: file, Msg: fmt.Sprintf("the file is larger than a scenario can be (%d MiB)", MaxFileSize>>20)}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: file, Msg: "the file is empty"}
		}
		return nil, syntaxError(file, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &Error{File: file, Line: extra.Line, Msg: "more than one YAML document; a scenario is one document"}
	case !errors.Is(err, io.EOF):
		// A broken second document is still an error, not something to skip.
		return nil, syntaxError(file, err)
	}
	if len(doc.Content) == 0 {
		return nil, &Error{File: file, Msg: "the file is empty"}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: file, Line: root.Line, Msg: "a scenario is a mapping of keys (name, duration, clients, servers, ...)"}
	}
	if err := checkAliases(file, root, 0); err != nil {
		return nil, err
	}
	if err := checkKnown(file, root, reflect.TypeOf(Scenario{}), ""); err != nil {
		return nil, err
	}
	for _, s := range sets {
		if err := applySet(root, s); err != nil {
			return nil, err
		}
	}
	applied, err := presets.Expand(root)
	if err != nil {
		var pe *presets.Problem
		if errors.As(err, &pe) {
			f := file
			if pe.Line == 0 {
				f = "--set"
			}
			return nil, &Error{File: f, Line: pe.Line, Field: pe.Field, Msg: pe.Msg}
		}
		return nil, err
	}
	if len(applied) > 0 {
		// What a preset put in must be as known as what the user wrote.
		if err := checkKnown(file, root, reflect.TypeOf(Scenario{}), ""); err != nil {
			return nil, err
		}
	}
	kept := map[string]bool{}
	if err := checkZeros(file, root, "", kept); err != nil {
		return nil, err
	}
	var sc Scenario
	if err := root.Decode(&sc); err != nil {
		return nil, decodeError(file, root, err)
	}
	sc.zeros = kept
	sc.presets = applied
	sc.setDefaults()
	sc.src = &source{file: file, root: root, text: data, sets: append([]string(nil), sets...)}
	if err := sc.validate(); err != nil {
		var ve *Error
		if errors.As(err, &ve) {
			sc.locate(ve)
		}
		return nil, err
	}
	return &sc, nil
}

// source remembers where a scenario came from, to locate later errors.
type source struct {
	file string
	root *yaml.Node
	text []byte // the file as read, before --set
	sets []string
}

// Source returns the scenario as it was given: the file name, its text
// verbatim and the --set overrides applied to it, enough to reproduce it.
func (s *Scenario) Source() (file string, text []byte, sets []string) {
	if s.src == nil {
		return "", nil, nil
	}
	return s.src.file, s.src.text, s.src.sets
}

// locate fills in the file and line of an error about a field.
func (s *Scenario) locate(ve *Error) {
	if s.src == nil {
		return
	}
	ve.File = s.src.file
	if ve.Line == 0 {
		line, fromSet := lineOf(s.src.root, ve.Field)
		if fromSet {
			// The offending value came from --set, not the file.
			ve.File, line = "--set", 0
		}
		ve.Line = line
	}
}

// FieldError returns an input error about a field of the scenario, located
// at the field's line in the scenario's file (or at --set when the value
// came from there). Packages that validate parts of a scenario the loader
// does not understand, such as strategy names, report through it.
func (s *Scenario) FieldError(field, format string, args ...any) error {
	ve := &Error{File: "scenario", Field: field, Msg: fmt.Sprintf(format, args...)}
	s.locate(ve)
	return ve
}

var lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// parserProblems are the messages of yaml.v3's parser (as opposed to its
// scanner). yaml.v3 reports their line 0-based (decode.go, parser.fail adds
// 1 only for scanner errors) and omits it when it is 0.
var parserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

func syntaxError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	for _, p := range parserProblems {
		if msg == p {
			line++
			break
		}
	}
	return &Error{File: file, Line: line, Msg: "YAML syntax: " + msg}
}

// decodeError turns a yaml.v3 decoding error into an Error that names the
// line and the field at that line.
func decodeError(file string, root *yaml.Node, err error) error {
	line, msg := decodeMsg(err)
	if line == 0 {
		return &Error{File: "--set", Msg: msg}
	}
	return &Error{File: file, Line: line, Field: fieldAtLine(root, line, ""), Msg: msg}
}

// decodeMsg extracts the line (0 if none) and a readable message from a
// yaml.v3 decoding error or an UnmarshalYAML error of this package.
func decodeMsg(err error) (int, string) {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 0
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	// yaml.v3 says "cannot unmarshal !!str `fast` into float64": say it
	// in the scenario's terms.
	if m := unmarshalRE.FindStringSubmatch(msg); m != nil {
		want := goTypeWords[m[3]]
		if want == "" {
			want = "a value of another kind"
		}
		got := strings.TrimPrefix(m[1], "!!")
		if got == "str" {
			got = "text"
		} else if got == "seq" || got == "map" {
			got = map[string]string{"seq": "a list", "map": "a mapping"}[got]
		}
		if m[2] != "" {
			return line, fmt.Sprintf("want %s, got %s %s", want, got, m[2])
		}
		return line, fmt.Sprintf("want %s, got %s", want, got)
	}
	msg = strings.ReplaceAll(msg, "!!str ", "text ")
	msg = strings.ReplaceAll(msg, "!!int ", "number ")
	msg = strings.ReplaceAll(msg, "!!float ", "number ")
	msg = strings.ReplaceAll(msg, "!!bool ", "boolean ")
	msg = strings.ReplaceAll(msg, "!!null ", "null ")
	msg = strings.ReplaceAll(msg, "!!seq", "a list")
	msg = strings.ReplaceAll(msg, "!!map", "a mapping")
	msg = strings.ReplaceAll(msg, "workloads.", "")
	return line, msg
}

// unmarshalRE matches yaml.v3's type errors: the YAML tag, the value (in
// backquotes, absent for lists and mappings) and the Go type.
var unmarshalRE = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: (`[^`]*`))? into (\\S+)$")

// goTypeWords names Go types as a scenario's reader knows them.
var goTypeWords = map[string]string{
	"float64": "a number", "float32": "a number",
	"int": "a whole number", "int64": "a whole number", "int32": "a whole number", "uint64": "a whole number", "uint": "a whole number",
	"string": "text", "bool": "true or false",
	"[]float64": "a number or a list of numbers", "PerInstance": "a number or a list of numbers",
}

// checkLeaf decodes one leaf value on its own, so that a value of the wrong
// type is reported with its own line and key path (yaml.v3 reports only a
// line, which is ambiguous in a flow mapping such as {rate: fast, users: 1}).
// It also rejects fractions for whole-number keys, which yaml.v3 would
// silently truncate (count: 1.5 → 1).
func checkLeaf(file string, n *yaml.Node, t reflect.Type, path string) error {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if msg := checkInteger(n, t); msg != "" {
			return &Error{File: file, Line: n.Line, Field: path, Msg: msg}
		}
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		line, msg := decodeMsg(err)
		if line == 0 || n.Line == 0 {
			line = n.Line
		}
		return &Error{File: file, Line: line, Field: path, Msg: msg}
	}
	return nil
}

// checkInteger checks a whole-number key's value: written in decimal
// (YAML 1.1 reads 010 as octal 8 and 0x10 as 16, which nobody means in a
// scenario), whole, and within the key's range; yaml.v3 would truncate a
// fraction and squeeze an out-of-range number (2^64 becomes 2^63)
// without a word. It returns what is wrong, or "".
func checkInteger(n *yaml.Node, t reflect.Type) string {
	if n.Kind != yaml.ScalarNode {
		return ""
	}
	v := strings.TrimSpace(n.Value)
	digits := strings.ReplaceAll(strings.TrimLeft(v, "+-"), "_", "") // YAML allows 1_000
	unsigned := t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64
	rangeMsg := func() string {
		if unsigned {
			return fmt.Sprintf("want a whole number from 0 to %d, got %s", uint64(1)<<(t.Bits()-1)*2-1, v)
		}
		return fmt.Sprintf("want a whole number from %d to %d, got %s", -(int64(1) << (t.Bits() - 1)), int64(1)<<(t.Bits()-1)-1, v)
	}
	switch n.ShortTag() {
	case "!!int":
		if len(digits) > 1 && digits[0] == '0' || strings.ContainsAny(digits, "xXoObB:") {
			return fmt.Sprintf("want a whole number in decimal digits, got %s (a leading 0 or 0x/0o/0b prefix reads as another base)", v)
		}
		var err error
		if unsigned {
			if strings.HasPrefix(v, "-") && digits != "0" {
				return rangeMsg()
			}
			_, err = strconv.ParseUint(digits, 10, t.Bits())
		} else {
			_, err = strconv.ParseInt(strings.TrimPrefix(strings.ReplaceAll(v, "_", ""), "+"), 10, t.Bits())
		}
		if err != nil {
			return rangeMsg()
		}
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || f != math.Trunc(f) || math.IsInf(f, 0) {
			return fmt.Sprintf("want a whole number, got %s", v)
		}
		// Beyond 2^53 a float is not exact: such a number must be
		// written in digits to be read as the integer it names.
		if unsigned && f < 0 {
			return rangeMsg()
		}
		if math.Abs(f) >= 1<<53 {
			if strings.Trim(digits, "0123456789") == "" {
				return rangeMsg() // digits too many for any integer key
			}
			return fmt.Sprintf("write %s in digits: a number this large is not exact in that form", v)
		}
		if !unsigned && t.Bits() < 64 && (f < -float64(int64(1)<<(t.Bits()-1)) || f >= float64(int64(1)<<(t.Bits()-1))) {
			return rangeMsg()
		}
		if unsigned && t.Bits() < 64 && f >= float64(uint64(1)<<t.Bits()) {
			return rangeMsg()
		}
	}
	return ""
}

// checkAliases rejects YAML aliases and anchors' expansion bombs: a scenario
// has no use for them and they defeat line-accurate errors.
func checkAliases(file string, n *yaml.Node, depth int) error {
	if depth > 64 {
		return &Error{File: file, Line: n.Line, Msg: "nesting is too deep"}
	}
	if n.Kind == yaml.AliasNode {
		return &Error{File: file, Line: n.Line, Msg: "YAML aliases (*name) are not supported in scenarios"}
	}
	for _, c := range n.Content {
		if err := checkAliases(file, c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// yamlFields maps a struct's yaml keys to their field types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		out[tag] = f.Type
	}
	return out
}

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// leaf reports whether values of t are decoded as a whole (scalars and
// types with their own UnmarshalYAML).
func leaf(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Slice, reflect.Map:
		return false
	}
	return true
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// checkKnown walks the document against the schema and rejects unknown or
// repeated keys with their line, suggesting the nearest known key.
func checkKnown(file string, n *yaml.Node, t reflect.Type, path string) error {
	optional := t.Kind() == reflect.Pointer
	t = deref(t)
	if leaf(t) {
		return checkLeaf(file, n, t, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		if optional && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			// An optional block written as null is absent (and removes a
			// preset's block).
			return nil
		}
		if n.Kind != yaml.MappingNode {
			return &Error{File: file, Line: n.Line, Field: path, Msg: "want a mapping of keys, got a " + kindName(n)}
		}
		fields := yamlFields(t)
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			if prev, dup := seen[k.Value]; dup {
				return &Error{File: file, Line: k.Line, Field: p, Msg: fmt.Sprintf("key repeated (first at line %d)", prev)}
			}
			seen[k.Value] = k.Line
			ft, ok := fields[k.Value]
			if !ok {
				return &Error{File: file, Line: k.Line, Field: p, Msg: "unknown key" + suggest(k.Value, fields)}
			}
			if err := checkKnown(file, v, ft, p); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return &Error{File: file, Line: n.Line, Field: path, Msg: "want a list, got a " + kindName(n)}
		}
		for i, c := range n.Content {
			if err := checkKnown(file, c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func suggest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	for f := range fields {
		if d := editDistance(key, f); d < bestD || (d == bestD && best != "" && f < best) {
			best, bestD = f, d
		}
	}
	if best == "" {
		keys := make([]string, 0, len(fields))
		for f := range fields {
			keys = append(keys, f)
		}
		sortStrings(keys)
		return " (known: " + strings.Join(keys, ", ") + ")"
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			c = min(c, prev[j]+1, cur[j-1]+1)
			cur[j] = c
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// segment is one step of a key path: a map key or a list index.
type segment struct {
	key   string
	index int // -1 for a key
}

var (
	segRE   = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)$`)
	digitRE = regexp.MustCompile(`\d+`)
)

func parsePath(p string) ([]segment, error) {
	if p == "" {
		return nil, fmt.Errorf("empty key")
	}
	var out []segment
	for _, part := range strings.Split(p, ".") {
		m := segRE.FindStringSubmatch(part)
		if m == nil {
			return nil, fmt.Errorf("bad key path %q (want a.b[0].c)", p)
		}
		out = append(out, segment{key: m[1], index: -1})
		for _, ix := range digitRE.FindAllString(m[2], -1) {
			n, err := strconv.Atoi(ix)
			if err != nil || n > 1<<20 {
				return nil, fmt.Errorf("bad index in %q", p)
			}
			out = append(out, segment{index: n})
		}
	}
	return out, nil
}

// keyType checks a key path ("servers[0].count") against the schema and
// returns its segments and the type of its value.
func keyType(k string) ([]segment, reflect.Type, error) {
	segs, err := parsePath(k)
	if err != nil {
		return nil, nil, &Error{File: "--set", Field: k, Msg: err.Error()}
	}
	t := reflect.TypeOf(Scenario{})
	for _, s := range segs {
		t = deref(t)
		if s.index >= 0 {
			if t.Kind() != reflect.Slice || leaf(t) {
				return nil, nil, &Error{File: "--set", Field: k, Msg: "this key is not a list"}
			}
			t = t.Elem()
			continue
		}
		if t.Kind() != reflect.Struct || leaf(t) {
			return nil, nil, &Error{File: "--set", Field: k, Msg: "this key has no sub-keys"}
		}
		fields := yamlFields(t)
		ft, ok := fields[s.key]
		if !ok {
			return nil, nil, &Error{File: "--set", Field: k, Msg: fmt.Sprintf("unknown key %q%s", s.key, suggest(s.key, fields))}
		}
		t = ft
	}
	return segs, t, nil
}

// KeyKind is the kind of value a scenario key takes.
type KeyKind int

// The kinds of KeyKindOf.
const (
	// KeyOther is text, a duration, a list or a mapping.
	KeyOther KeyKind = iota
	// KeyInteger is a whole number (count, concurrency, queue, seed, ...).
	KeyInteger
	// KeyNumber is any number (rate, speed, weight, errors, ...).
	KeyNumber
)

// KeyKindOf returns the kind of value key ("servers[0].count") takes,
// or an error naming what is wrong with the key. Sweeps and capacity
// searches vary numeric keys only.
func KeyKindOf(key string) (KeyKind, error) {
	_, t, err := keyType(strings.TrimSpace(key))
	if err != nil {
		return KeyOther, err
	}
	t = deref(t)
	switch {
	case t == reflect.TypeOf(PerInstance(nil)):
		return KeyNumber, nil
	case t == reflect.TypeOf(Duration(0)):
		return KeyOther, nil
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return KeyInteger, nil
	case reflect.Float32, reflect.Float64:
		return KeyNumber, nil
	}
	return KeyOther, nil
}

// applySet applies one "key.path=value" override to the document.
func applySet(root *yaml.Node, set string) error {
	k, v, ok := strings.Cut(set, "=")
	if !ok {
		return &Error{File: "--set", Field: set, Msg: "want key=value, e.g. clients.arrival.rate=900"}
	}
	k = strings.TrimSpace(k)
	segs, t, err := keyType(k)
	if err != nil {
		return err
	}
	var val yaml.Node
	if err := yaml.Unmarshal([]byte(v), &val); err != nil || len(val.Content) == 0 {
		if strings.TrimSpace(v) == "" {
			return &Error{File: "--set", Field: k, Msg: "empty value"}
		}
		return &Error{File: "--set", Field: k, Msg: fmt.Sprintf("value %q is not valid YAML", v)}
	}
	vn := val.Content[0]
	// Lines inside the value are meaningless (and would read as lines of
	// the scenario file); zeroing them also marks the value as coming from
	// --set for later validation errors.
	zeroLines(vn)
	if err := checkAliases("--set", vn, 0); err != nil {
		return err
	}
	if err := checkKnown("--set", vn, t, k); err != nil {
		return err
	}
	probe := reflect.New(deref(t))
	if err := vn.Decode(probe.Interface()); err != nil {
		_, msg := decodeMsg(err)
		return &Error{File: "--set", Field: k, Msg: msg}
	}
	// Walk the document, creating mappings as needed.
	n := root
	for i, s := range segs {
		last := i == len(segs)-1
		if s.index >= 0 {
			if n.Kind != yaml.SequenceNode || s.index >= len(n.Content) {
				return &Error{File: "--set", Field: k, Msg: fmt.Sprintf("index %d is out of range", s.index)}
			}
			if last {
				n.Content[s.index] = vn
				return nil
			}
			n = n.Content[s.index]
			continue
		}
		if n.Kind != yaml.MappingNode {
			return &Error{File: "--set", Field: k, Msg: "the scenario has no mapping here to set a key in"}
		}
		var child *yaml.Node
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == s.key {
				if last {
					n.Content[j+1] = vn
					return nil
				}
				child = n.Content[j+1]
				break
			}
		}
		if child == nil {
			key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s.key}
			if last {
				n.Content = append(n.Content, key, vn)
				return nil
			}
			if segs[i+1].index >= 0 {
				return &Error{File: "--set", Field: k, Msg: fmt.Sprintf("the scenario has no list %q to index", s.key)}
			}
			child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			n.Content = append(n.Content, key, child)
		}
		n = child
	}
	return nil
}

func zeroLines(n *yaml.Node) {
	n.Line, n.Column = 0, 0
	for _, c := range n.Content {
		zeroLines(c)
	}
}

// lineOf finds the line of the value at a key path, falling back to the
// nearest existing ancestor. fromSet is true when the value at path exists
// and was put there by --set (its line is 0).
func lineOf(root *yaml.Node, path string) (line int, fromSet bool) {
	if path == "" {
		return 0, false
	}
	segs, err := parsePath(path)
	if err != nil {
		return 0, false
	}
	n := root
	for _, s := range segs {
		var next *yaml.Node
		if s.index >= 0 {
			if n.Kind == yaml.SequenceNode && s.index < len(n.Content) {
				next = n.Content[s.index]
			}
		} else if n.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == s.key {
					next = n.Content[j+1]
					if n.Content[j].Line > 0 {
						line = n.Content[j].Line
					}
					break
				}
			}
		}
		if next == nil {
			return line, false
		}
		n = next
		if n.Line > 0 && s.index >= 0 {
			line = n.Line
		}
	}
	return line, n.Line == 0
}

// fieldAtLine names the deepest key whose value starts on line.
func fieldAtLine(n *yaml.Node, line int, path string) string {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			if k.Line == line || v.Line == line {
				if sub := fieldAtLine(v, line, p); sub != "" {
					return sub
				}
				return p
			}
			if sub := fieldAtLine(v, line, p); sub != "" {
				return sub
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			if sub := fieldAtLine(c, line, p); sub != "" {
				return sub
			}
			if c.Line == line && c.Kind == yaml.ScalarNode {
				return p
			}
		}
	}
	return ""
}

// Rewrite returns the scenario YAML data with the "key.path=value"
// overrides sets written into it, as --set applies them, keeping the
// rest of the document, its comments included (yaml.v3 re-indents it by
// two spaces). edgelab live --calibrate writes its measured keys so.
func Rewrite(data []byte, file string, sets []string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(file, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &Error{File: file, Msg: "a scenario is a mapping of keys (name, duration, clients, servers, ...)"}
	}
	for _, s := range sets {
		if err := applySet(doc.Content[0], s); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return buf.Bytes(), nil
}
