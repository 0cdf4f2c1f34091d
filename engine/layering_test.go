package engine_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The layers of ARCHITECTURE.md, checked against what the packages really link: each rule
// lists the tandem packages a package may depend on (itself aside) and outside packages it
// must not depend on, directly or not.
func TestPackagesDependOnlyOnTheLayersBelowThem(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go command is needed to list dependencies") // go test runs with it on PATH
	}
	heavy := []string{"github.com/ollama/", "golang.org/x/crypto/ssh", "github.com/modelcontextprotocol/", "modernc.org/sqlite", "github.com/jackc/pgx"}
	rules := []struct {
		pkg       string
		may       []string // tandem packages it may depend on
		mayNot    []string // prefixes of outside packages it must not depend on
		rationale string
	}{
		// The engine core: the scheduler, the fold, leases, waits and debug controls run
		// over flows alone; model steps' executors are engine/modelsteps, which cmd registers.
		{"tandem/engine", []string{"tandem/flows"}, append(heavy, "charm.land/"), "the engine core is a leaf over flows"},
		{"tandem/flows", nil, heavy, "flows is the bottom layer"},
		{"tandem/agents/model", nil, heavy, "the model interface names no server"},
		{"tandem/agents", []string{"tandem/agents/model", "tandem/flows"}, heavy, "agents never import the engine"},
		{"tandem/agents/tracefmt", []string{"tandem/agents", "tandem/agents/model", "tandem/flows"}, heavy, "formatting needs the records only"},
		{"tandem/ui", []string{"tandem/engine", "tandem/flows", "tandem/agents", "tandem/agents/model", "tandem/agents/tracefmt"}, heavy,
			"the UI never touches SQL or Ollama"},
	}
	for _, r := range rules {
		t.Run(r.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", r.pkg).Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", r.pkg, err)
			}
			for _, dep := range strings.Fields(string(out)) {
				if dep == r.pkg {
					continue
				}
				if (dep == "tandem" || strings.HasPrefix(dep, "tandem/")) && !slices.Contains(r.may, dep) {
					t.Errorf("%s depends on %s (%s)", r.pkg, dep, r.rationale)
				}
				for _, bad := range r.mayNot {
					if strings.HasPrefix(dep, bad) {
						t.Errorf("%s depends on %s (%s)", r.pkg, dep, r.rationale)
					}
				}
			}
		})
	}
}
