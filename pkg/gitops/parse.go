package gitops

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in config.yaml, located by line and column (1-based;
// 0 when the config was not parsed from a file) and by field path, e.g.
// clusters[1].nodePools[0].name.
type Error struct {
	File   string
	Line   int
	Column int
	Field  string
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// ErrorList is every problem found, in file order; one per line.
type ErrorList []*Error

func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// maxErrors bounds how many problems one parse reports.
const maxErrors = 50

// MaxConfigSize bounds config.yaml (1 MiB, hundreds of projects): parsing
// and rendering take about ten times the input in memory, so a bigger file
// is refused before it is read.
const MaxConfigSize = 1 << 20

// Load reads and parses config.yaml at path (at most MaxConfigSize bytes).
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

func tooBig(file string) error {
	return fmt.Errorf("%s: config is larger than %d KiB (the limit): split it or remove unused entries", file, MaxConfigSize>>10)
}

// Parse strictly parses config.yaml: unknown or duplicate keys, wrong
// types, YAML aliases, invalid names and values and duplicate projects or
// pools are errors (an ErrorList) quoting file:line:column and the field.
// A Config returned without error renders without error.
func Parse(file string, data []byte) (*Config, error) {
	if len(data) > MaxConfigSize {
		return nil, tooBig(file)
	}
	cfg := &Config{File: file}
	d := &decoder{file: file, pos: map[string]*yaml.Node{}}
	root, err := d.document(data)
	if err != nil {
		return nil, err
	}
	if root != nil {
		d.pos[""] = root
		d.checkAliases(root)
		if len(d.errs) == 0 {
			d.decode(root, reflect.ValueOf(cfg).Elem(), "")
		}
	}
	if len(d.errs) == 0 {
		d.errs = validate(cfg, d.locate)
	}
	if len(d.errs) > 0 {
		return nil, d.sorted()
	}
	return cfg, nil
}

type decoder struct {
	file string
	errs ErrorList
	// pos maps a field path to the node it was read from.
	pos map[string]*yaml.Node
}

var yamlLine = lazyRE(`^yaml: line (\d+): (.*)$`)

// document returns the root node of the only YAML document in data (nil
// for an empty file).
func (d *decoder) document(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, d.syntaxError(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, ErrorList{{File: d.file, Line: max(next.Line, 1), Column: max(next.Column, 1), Msg: "only one YAML document is allowed"}}
	case !errors.Is(err, io.EOF):
		return nil, d.syntaxError(err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if isNull(root) {
		return nil, nil
	}
	return root, nil
}

func (d *decoder) syntaxError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLine().FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	return ErrorList{{File: d.file, Line: line, Column: min(line, 1), Msg: "invalid YAML: " + msg}}
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	if len(d.errs) >= maxErrors {
		return
	}
	e := &Error{File: d.file, Field: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

func (d *decoder) sorted() ErrorList {
	slices.SortStableFunc(d.errs, func(a, b *Error) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	return d.errs
}

// locate is the position of path, or of its closest parent that was read.
func (d *decoder) locate(path string) (int, int) {
	for {
		if n, ok := d.pos[path]; ok {
			return n.Line, n.Column
		}
		if path == "" {
			return 0, 0
		}
		path = parentPath(path)
	}
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// checkAliases rejects aliases: they would let a small file expand without
// bound, and defaults: already shares settings.
func (d *decoder) checkAliases(n *yaml.Node) {
	if n.Kind == yaml.AliasNode {
		d.errorf(n, "", "YAML aliases are not supported (put shared settings under defaults)")
		return
	}
	for _, c := range n.Content {
		d.checkAliases(c)
	}
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

var durationType = reflect.TypeFor[Duration]()

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// decode reads n into v, which is addressable. Null leaves v unset.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	d.pos[path] = n
	if isNull(n) {
		return
	}
	if v.Type() == durationType {
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, path, "expected a duration like 72h, got %s", kindName(n))
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.errorf(n, path, "invalid duration %q (use e.g. 72h or 30m)", n.Value)
			return
		}
		v.Set(reflect.ValueOf(Duration{dur}))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem(), path)
		v.Set(p)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.errorf(n, path, "expected a mapping, got %s", kindName(n))
			return
		}
		fields := structFields(v.Type())
		d.pairs(n, path, func(k, val *yaml.Node, fp string) {
			idx, ok := fields[k.Value]
			if !ok {
				d.errorf(k, fp, "unknown field%s", suggest(k.Value, fields))
				return
			}
			d.decode(val, v.FieldByIndex(idx), fp)
		})
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, path, "expected a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			if isNull(item) {
				d.errorf(item, ip, "empty list item")
				continue
			}
			d.decode(item, s.Index(i), ip)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.errorf(n, path, "expected a mapping, got %s", kindName(n))
			return
		}
		m := reflect.MakeMap(v.Type())
		d.pairs(n, path, func(k, val *yaml.Node, fp string) {
			e := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, e, fp)
			m.SetMapIndex(reflect.ValueOf(k.Value), e)
		})
		v.Set(m)
	case reflect.Interface:
		if x, ok := d.freeform(n, path); ok && x != nil {
			v.Set(reflect.ValueOf(x))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, path, "expected a string, got %s", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int:
		var i int
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			d.errorf(n, path, "expected an integer, got %s", kindName(n))
			return
		}
		v.SetInt(int64(i))
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.errorf(n, path, "expected true or false, got %s", kindName(n))
			return
		}
		v.SetBool(b)
	default:
		panic(fmt.Sprintf("gitops: unsupported config field type %s", v.Type()))
	}
}

// pairs calls fn for each key of mapping n, rejecting non-string and
// duplicate keys.
func (d *decoder) pairs(n *yaml.Node, path string, fn func(k, v *yaml.Node, fieldPath string)) {
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			d.errorf(k, path, "keys must be plain strings (merge keys are not supported)")
			continue
		}
		fp := join(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			d.errorf(k, fp, "duplicate key (first at line %d)", first.Line)
			continue
		}
		seen[k.Value] = k
		fn(k, val, fp)
	}
}

// freeform converts n to JSON-compatible values (Helm values).
func (d *decoder) freeform(n *yaml.Node, path string) (any, bool) {
	d.pos[path] = n
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		ok := true
		d.pairs(n, path, func(k, val *yaml.Node, fp string) {
			x, good := d.freeform(val, fp)
			ok = ok && good
			m[k.Value] = x
		})
		return m, ok
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		ok := true
		for i, item := range n.Content {
			x, good := d.freeform(item, fmt.Sprintf("%s[%d]", path, i))
			ok = ok && good
			s[i] = x
		}
		return s, ok
	case yaml.ScalarNode:
		var x any
		if err := n.Decode(&x); err != nil {
			d.errorf(n, path, "invalid value %q", n.Value)
			return nil, false
		}
		switch v := x.(type) {
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				d.errorf(n, path, "%s is not a valid Helm value", n.Value)
				return nil, false
			}
		case []byte:
			x = string(v)
		case time.Time:
			x = n.Value
		}
		return x, true
	}
	d.errorf(n, path, "unsupported YAML node")
	return nil, false
}

// structFields maps yaml keys to field indexes, flattening inline structs.
func structFields(t reflect.Type) map[string][]int {
	m := map[string][]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if opts == "inline" {
			for k, idx := range structFields(f.Type) {
				m[k] = append([]int{i}, idx...)
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = []int{i}
	}
	return m
}

// suggest names the closest known field, or lists them all.
func suggest(key string, fields map[string][]int) string {
	names := make([]string, 0, len(fields))
	best, bestD := "", 3
	for k := range fields {
		names = append(names, k)
		if strings.EqualFold(k, key) {
			best, bestD = k, 0
		} else if dist := editDistance(strings.ToLower(k), strings.ToLower(key)); dist < bestD {
			best, bestD = k, dist
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	slices.Sort(names)
	return " (known fields: " + strings.Join(names, ", ") + ")"
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
