// Package examples holds the example workspace: four flows (content, triage, batch, debug)
// with their agents, sub-flows and data, and two eval suites. `tandem init` writes a copy of it
// to start from.
package examples

import "embed"

// FS is the example workspace as `tandem init` writes it: README.md, the flows, agents and
// data. What running the examples in place creates (.tandem/, out/, published/,
// triage/out/) is left out.
//
//go:embed README.md *.yaml content/*.yaml content/corpus/*.txt triage/*.yaml triage/tickets/*.txt
//go:embed batch/inbox/*.txt debug/*.yaml evals/*.yaml
var FS embed.FS
