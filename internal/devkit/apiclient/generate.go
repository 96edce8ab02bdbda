package apiclient

// The client API consumers generate from openapi.yaml, with the pinned
// oapi-codegen; its tests decode real responses of every status through it.
//go:generate go tool -modfile=../../../tools/oapi-codegen/go.mod oapi-codegen -config oapi-codegen.yaml -o client.gen.go ../../../openapi.yaml
