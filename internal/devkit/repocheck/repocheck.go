// Package repocheck holds, in its tests, the checks of the repository as a
// whole, for its developers and CI: documentation links, the variables a
// local run may set, openapi.yaml against the server, the pipeline against
// its policy, and the sam-api and sam-invoke targets. The tests run from
// the repository's root.
package repocheck
