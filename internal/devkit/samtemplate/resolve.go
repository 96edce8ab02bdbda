package samtemplate

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Stack stands for one deployment of a template: its name and the values
// CloudFormation would give its parameters and resources. Tests resolve the
// template against it to see what a deployed stack would hold.
type Stack struct {
	Name    string
	Region  string
	Account string
	// Parameters overrides parameter defaults.
	Parameters map[string]string
	// Physical gives a resource's Ref value; a resource not named here
	// resolves to a physical ID made from the stack and logical names, or
	// to its own name property where it has one (a function's FunctionName).
	Physical map[string]string
}

// Resolver evaluates the intrinsic functions of one template for a Stack.
type Resolver struct {
	tmpl  map[string]any
	stack Stack
}

// NewResolver returns a Resolver of tmpl for stack.
func NewResolver(tmpl map[string]any, stack Stack) *Resolver {
	if stack.Region == "" {
		stack.Region = "us-east-1"
	}
	if stack.Account == "" {
		stack.Account = "123456789012"
	}
	return &Resolver{tmpl: tmpl, stack: stack}
}

// noValue stands for AWS::NoValue until the enclosing map or list drops it.
type noValue struct{}

// Resolve returns v with every intrinsic function evaluated. It fails on a
// function or reference it cannot evaluate, naming it.
func (r *Resolver) Resolve(v any) (any, error) {
	out, err := r.resolve(v)
	if _, ok := out.(noValue); ok {
		return nil, err
	}
	return out, err
}

// String resolves v and requires a string.
func (r *Resolver) String(v any) (string, error) {
	out, err := r.Resolve(v)
	if err != nil {
		return "", err
	}
	switch x := out.(type) {
	case string:
		return x, nil
	case float64:
		return fmt.Sprint(x), nil
	}
	return "", fmt.Errorf("%v does not resolve to a string", v)
}

func (r *Resolver) resolve(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			e, err := r.resolve(e)
			if err != nil {
				return nil, err
			}
			if _, ok := e.(noValue); !ok {
				out = append(out, e)
			}
		}
		return out, nil
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return r.function(k, arg)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			e, err := r.resolve(e)
			if err != nil {
				return nil, err
			}
			if _, ok := e.(noValue); !ok {
				out[k] = e
			}
		}
		return out, nil
	}
	return v, nil
}

func (r *Resolver) function(name string, arg any) (any, error) {
	switch name {
	case "Ref":
		s, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("template: Ref of %v", arg)
		}
		return r.ref(s)
	case "Fn::GetAtt":
		l, ok := arg.([]any)
		if !ok || len(l) < 2 {
			return nil, fmt.Errorf("template: Fn::GetAtt %v", arg)
		}
		parts := make([]string, len(l))
		for i, e := range l {
			parts[i] = fmt.Sprint(e)
		}
		return r.getAtt(parts[0], strings.Join(parts[1:], "."))
	case "Fn::Sub":
		return r.sub(arg)
	case "Fn::If":
		l, ok := arg.([]any)
		if !ok || len(l) != 3 {
			return nil, fmt.Errorf("template: Fn::If %v", arg)
		}
		c, err := r.Condition(fmt.Sprint(l[0]))
		if err != nil {
			return nil, err
		}
		if c {
			return r.resolve(l[1])
		}
		return r.resolve(l[2])
	case "Fn::Join":
		l, ok := arg.([]any)
		if !ok || len(l) != 2 {
			return nil, fmt.Errorf("template: Fn::Join %v", arg)
		}
		items, err := r.resolve(l[1])
		if err != nil {
			return nil, err
		}
		list, _ := items.([]any)
		parts := make([]string, len(list))
		for i, e := range list {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, fmt.Sprint(l[0])), nil
	}
	return nil, fmt.Errorf("cannot resolve %s", name)
}

func (r *Resolver) ref(name string) (any, error) {
	switch name {
	case "AWS::StackName":
		return r.stack.Name, nil
	case "AWS::Region":
		return r.stack.Region, nil
	case "AWS::AccountId":
		return r.stack.Account, nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::Partition":
		return "aws", nil
	case "AWS::NoValue":
		return noValue{}, nil
	}
	if p, ok := Get(r.tmpl, "Parameters", name).(map[string]any); ok {
		if v, ok := r.stack.Parameters[name]; ok {
			return v, nil
		}
		if d, ok := p["Default"]; ok {
			if f, ok := d.(float64); ok {
				return fmt.Sprint(f), nil
			}
			return d, nil
		}
		return nil, fmt.Errorf("parameter %s has no default and no value", name)
	}
	if v, ok := r.stack.Physical[name]; ok {
		return v, nil
	}
	res := Resource(r.tmpl, name)
	if res == nil {
		return nil, fmt.Errorf("template: Ref to unknown %s", name)
	}
	if Get(res, "Type") == "AWS::Serverless::Function" {
		if fn := Get(res, "Properties", "FunctionName"); fn != nil {
			return r.resolve(fn)
		}
	}
	return r.stack.Name + "-" + name + "-1A2B3C4D5E6F", nil
}

func (r *Resolver) getAtt(resource, attr string) (any, error) {
	if Resource(r.tmpl, resource) == nil {
		return nil, fmt.Errorf("template: GetAtt of unknown %s", resource)
	}
	physical, err := r.ref(resource)
	if err != nil {
		return nil, err
	}
	switch attr {
	case "Arn":
		return fmt.Sprintf("arn:aws:cloudformation-test:%s:%s:%s", r.stack.Region, r.stack.Account, physical), nil
	case "Version.Version":
		return "1", nil
	case "Stage":
		// SAM's reference to an API's stage: its name.
		if Get(Resource(r.tmpl, resource), "Type") == "AWS::Serverless::Api" {
			return r.resolve(Get(Resource(r.tmpl, resource), "Properties", "StageName"))
		}
	}
	return fmt.Sprintf("%s.%s", physical, attr), nil
}

var subVar = regexp.MustCompile(`\$\{([^!}][^}]*)\}`)

func (r *Resolver) sub(arg any) (any, error) {
	text, vars := "", map[string]any{}
	switch x := arg.(type) {
	case string:
		text = x
	case []any:
		if len(x) != 2 {
			return nil, fmt.Errorf("template: Fn::Sub %v", arg)
		}
		text = fmt.Sprint(x[0])
		m, _ := x[1].(map[string]any)
		for k, v := range m {
			v, err := r.resolve(v)
			if err != nil {
				return nil, err
			}
			vars[k] = v
		}
	default:
		return nil, fmt.Errorf("template: Fn::Sub %v", arg)
	}
	var firstErr error
	out := subVar.ReplaceAllStringFunc(text, func(m string) string {
		name := m[2 : len(m)-1]
		if v, ok := vars[name]; ok {
			return fmt.Sprint(v)
		}
		var v any
		var err error
		if res, attr, ok := strings.Cut(name, "."); ok && Resource(r.tmpl, res) != nil {
			v, err = r.getAtt(res, attr)
		} else {
			v, err = r.ref(name)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return fmt.Sprint(v)
	})
	// ${!Literal} stands for ${Literal}.
	return strings.ReplaceAll(out, "${!", "${"), firstErr
}

// Condition evaluates the named condition of the template.
func (r *Resolver) Condition(name string) (bool, error) {
	c := Get(r.tmpl, "Conditions", name)
	if c == nil {
		return false, fmt.Errorf("unknown condition %s", name)
	}
	return r.condition(c)
}

func (r *Resolver) condition(c any) (bool, error) {
	m, ok := c.(map[string]any)
	if !ok || len(m) != 1 {
		return false, fmt.Errorf("condition %v", c)
	}
	for k, arg := range m {
		l, _ := arg.([]any)
		switch k {
		case "Condition":
			return r.Condition(fmt.Sprint(arg))
		case "Fn::Equals":
			if len(l) != 2 {
				return false, fmt.Errorf("template: Fn::Equals %v", arg)
			}
			a, err := r.String(l[0])
			if err != nil {
				return false, err
			}
			b, err := r.String(l[1])
			return a == b, err
		case "Fn::Not":
			if len(l) != 1 {
				return false, fmt.Errorf("template: Fn::Not %v", arg)
			}
			v, err := r.condition(l[0])
			return !v, err
		case "Fn::And", "Fn::Or":
			all := k == "Fn::And"
			for _, e := range l {
				v, err := r.condition(e)
				if err != nil {
					return false, err
				}
				if v != all {
					return v, nil
				}
			}
			return all, nil
		}
	}
	return false, fmt.Errorf("condition %v", c)
}

// ResourceNames returns the template's logical resource IDs, sorted.
func ResourceNames(tmpl map[string]any) []string {
	res, _ := tmpl["Resources"].(map[string]any)
	names := make([]string, 0, len(res))
	for n := range res {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
