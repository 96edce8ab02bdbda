package samtemplate

import (
	"bytes"
	"fmt"

	"gopkg.in/yaml.v3"
)

// ManagedInstances derives, from template.yaml's text, the template of a
// stack whose function runs on Lambda Managed Instances: two more
// parameters (the capacity provider's ARN and the requests one execution
// environment serves at once), the function's CapacityProviderConfig and
// its 2048 MB, no provisioned concurrency (an on-demand setting), and no
// private network of its own: the capacity provider's VPC configuration
// places the instances, so PrivateNetwork, the function's VpcConfig and
// everything created under PrivateNetworkOn go.
//
// It is a separate template because SAM refuses a CapacityProviderConfig
// that a condition could leave empty, and Lambda cannot move a function
// between on-demand and Managed Instances after it is created: a stack is
// one or the other from its first deploy. Everything else, comments
// included, is template.yaml's. It fails when template.yaml no longer has
// the shape it edits.
func ManagedInstances(src []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("template: want one YAML mapping")
	}
	root := doc.Content[0]
	params := mapValue(root, "Parameters")
	conds := mapValue(root, "Conditions")
	fn := mapValue(mapValue(mapValue(root, "Resources"), "GetCustomerFunction"), "Properties")
	if params == nil || conds == nil || fn == nil || mapValue(fn, "MemorySize") == nil {
		return nil, fmt.Errorf("template: no Parameters, Conditions or GetCustomerFunction Properties.MemorySize to edit")
	}
	removeKey(params, "ProvisionedConcurrency")
	removeKey(conds, "HasProvisionedConcurrency")
	removeKey(fn, "ProvisionedConcurrencyConfig")
	removeKey(params, "PrivateNetwork")
	removeKey(conds, "PrivateNetworkOn")
	removeKey(fn, "VpcConfig")
	for _, section := range []string{"Resources", "Outputs"} {
		removeWithCondition(mapValue(root, section), "PrivateNetworkOn")
	}

	var extra yaml.Node
	if err := yaml.Unmarshal([]byte(managedParameters), &extra); err != nil {
		return nil, err
	}
	params.Content = append(params.Content, extra.Content[0].Content...)

	var cfg yaml.Node
	if err := yaml.Unmarshal([]byte(managedFunction), &cfg); err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(fn.Content); i += 2 {
		if fn.Content[i].Value == "MemorySize" {
			fn.Content[i+1] = cfg.Content[0].Content[1]
			fn.Content[i].HeadComment = "# Managed Instances: 2048 MB is their smallest function size, at 2 GiB\n# per vCPU; one environment serves PerExecutionEnvironmentMaxConcurrency\n# requests at once (docs/managed-instances.md)."
			rest := append([]*yaml.Node{}, fn.Content[i+2:]...)
			fn.Content = append(append(fn.Content[:i+2], cfg.Content[0].Content[2:]...), rest...)
			break
		}
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return append([]byte(managedHeader), out.Bytes()...), nil
}

// ManagedTemplatePath is where the derived template is committed, so that
// sam build --config-env managed works on a clean clone.
const ManagedTemplatePath = "template.managed-instances.yaml"

const managedHeader = "# Derived from template.yaml by `make managed-template` (cdmctl template\n# managed-instances); do not edit: a test fails when it is out of date.\n"

const managedParameters = `
CapacityProviderArn:
  Type: String
  AllowedPattern: "^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:[0-9]{12}:capacity-provider:[a-zA-Z0-9-_]+$"
  Description: The Lambda Managed Instances capacity provider the function runs on.
PerExecutionEnvironmentMaxConcurrency:
  Type: Number
  Default: 16
  MinValue: 1
  MaxValue: 1600
  Description: Requests one execution environment serves at once (AWS_LAMBDA_MAX_CONCURRENCY).
`

const managedFunction = `
MemorySize: 2048
CapacityProviderConfig:
  Arn: !Ref CapacityProviderArn
  PerExecutionEnvironmentMaxConcurrency: !Ref PerExecutionEnvironmentMaxConcurrency
  ExecutionEnvironmentMemoryGiBPerVCpu: 2
`

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// removeWithCondition removes the entries of m (resources or outputs)
// created only under condition cond.
func removeWithCondition(m *yaml.Node, cond string) {
	if m == nil {
		return
	}
	for i := 0; i+1 < len(m.Content); {
		if c := mapValue(m.Content[i+1], "Condition"); c != nil && c.Value == cond {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			continue
		}
		i += 2
	}
}

func removeKey(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}
