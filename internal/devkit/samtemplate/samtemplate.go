// Package samtemplate serves the tests, make bench and cdmctl's template
// command: it reads template.yaml, the product as CloudFormation sees it,
// into plain JSON-shaped values, with the short forms of intrinsic functions
// (!Ref, !GetAtt, !Sub, !If, ...) turned into their long forms; resolves
// them for a named stack; and derives the Managed Instances template.
package samtemplate

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads and converts the template at path.
func Load(path string) (map[string]any, error) {
	data, err := os.ReadFile(path) // #nosec G304 -- the template a test or tool names
	if err != nil {
		return nil, err
	}
	return Parse(data)
}

// Parse converts a YAML template. It fails on YAML it cannot read and on a
// tag it does not know.
func Parse(data []byte) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) != 1 {
		return nil, fmt.Errorf("template: want one YAML document")
	}
	v, err := convert(doc.Content[0])
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("template: top level is not a mapping")
	}
	return m, nil
}

func convert(n *yaml.Node) (any, error) {
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return intrinsic(n)
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := convert(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := convert(c)
			if err != nil {
				return nil, err
			}
			l[i] = v
		}
		return l, nil
	case yaml.AliasNode:
		return convert(n.Alias)
	case yaml.ScalarNode:
		return scalar(n)
	}
	return nil, fmt.Errorf("template line %d: unexpected YAML node", n.Line)
}

func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return float64(i), nil
		}
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f, nil
		}
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, nil
		}
	case "!!null":
		return nil, nil
	}
	return n.Value, nil
}

// intrinsic turns !Name x into {"Fn::Name": x}, except !Ref, which is {"Ref": x},
// and !GetAtt a.b, whose scalar form is {"Fn::GetAtt": [a, b]}.
func intrinsic(n *yaml.Node) (any, error) {
	name := strings.TrimPrefix(n.Tag, "!")
	known := map[string]bool{"Ref": true, "GetAtt": true, "Sub": true, "If": true, "Not": true, "Equals": true,
		"And": true, "Or": true, "Join": true, "Select": true, "Split": true, "FindInMap": true, "ImportValue": true,
		"Base64": true, "Cidr": true, "GetAZs": true, "Condition": true, "Transform": true, "Length": true, "ToJsonString": true}
	if !known[name] {
		return nil, fmt.Errorf("template line %d: unknown tag %s", n.Line, n.Tag)
	}
	plain := *n
	plain.Tag = ""
	v, err := convert(&plain)
	if err != nil {
		return nil, err
	}
	switch name {
	case "Ref", "Condition":
		return map[string]any{name: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			res, attr, found := strings.Cut(s, ".")
			if !found {
				return nil, fmt.Errorf("template line %d: !GetAtt %q lacks an attribute", n.Line, s)
			}
			v = []any{res, attr}
		}
	}
	return map[string]any{"Fn::" + name: v}, nil
}

// Resource returns the resource named name, or nil.
func Resource(t map[string]any, name string) map[string]any {
	res, _ := t["Resources"].(map[string]any)
	r, _ := res[name].(map[string]any)
	return r
}

// Get follows a path of keys (strings) and indexes (ints) through v and
// returns what it finds, or nil.
func Get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}
