// Package customerapi holds the endpoint's published description,
// openapi.yaml, for the programs that check live responses against it.
package customerapi

import _ "embed"

// OpenAPI is openapi.yaml as committed.
//
//go:embed openapi.yaml
var OpenAPI []byte
