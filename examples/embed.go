// Package examples holds the example workspace: four flows (content, triage, batch, debug)
// with their agents, sub-flows and data. `tandem init` writes a copy of it to start from.
package examples

import "embed"

// FS is the example workspace: README.md, the top-level flows and their folders, as the
// user gets them from `tandem init`.
//
//go:embed README.md content.yaml triage.yaml batch.yaml debug.yaml content triage batch debug
var FS embed.FS
