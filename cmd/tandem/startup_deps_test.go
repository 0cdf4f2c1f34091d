package main_test

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Every command pays the package init of everything the binary links, before main runs,
// and the runtime's start and the page faults grow with the binary. These packages cost
// milliseconds of it each (chroma's lexers and styles, through glamour; jsonschema/v6
// compiles its meta-schemas; bluemonday and goldmark's extensions compile regular
// expressions) or bring a hundred packages for one small use (gRPC and protobuf came with
// OpenTelemetry's otlptracehttp), and the binary needs none of them: answers are rendered
// by ui's own markdown renderer on goldmark's core parser, schemas validated by
// google/jsonschema-go, and spans sent by telemetry's own OTLP/HTTP exporter. (Ollama's
// official api package stays, as DESIGN.md asks, with x/crypto/ssh and the ordered maps
// it brings.)
func TestTheBinaryLinksNoPackageWithAHeavyInit(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go command is needed to list dependencies") // go test runs with it on PATH
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "tandem/cmd/tandem").Output()
	if err != nil {
		t.Fatalf("go list -deps tandem/cmd/tandem: %v", err)
	}
	heavy := []string{
		"charm.land/glamour/", "github.com/charmbracelet/glamour", "github.com/alecthomas/chroma/",
		"github.com/santhosh-tekuri/jsonschema/", "github.com/microcosm-cc/bluemonday",
		"github.com/yuin/goldmark/extension", "github.com/dlclark/regexp2",
		"google.golang.org/grpc", "google.golang.org/protobuf/", "github.com/grpc-ecosystem/",
		"go.opentelemetry.io/otel/exporters/", "go.opentelemetry.io/proto/",
	}
	deps := strings.Fields(string(out))
	for _, dep := range deps {
		for _, bad := range heavy {
			if strings.HasPrefix(dep, bad) {
				t.Errorf("tandem links %s, whose package init every command would pay", dep)
			}
		}
	}
	if len(deps) < 10 {
		t.Fatalf("go list found only %v: the check would pass on nothing", deps)
	}
}

// Commands that need no history never open the database: nothing is created where --db
// points, so they cost no SQLite open and work where there is no workspace at all.
func TestCommandsThatNeedNoHistoryLeaveTheDatabaseAlone(t *testing.T) {
	w := newWorkspace(t)
	w.write("f.yaml", "name: f\nsteps:\n  - id: a\n    run: [\"true\"]\n")
	for _, args := range [][]string{{"--help"}, {"run", "--help"}, {"--version"}, {"validate", "f.yaml"},
		{"completion", "bash"}, {"runs", "--help"}} {
		if out, errOut, code := w.tandem(args...); code != 0 {
			t.Fatalf("tandem %v: exit %d\n%s%s", args, code, out, errOut)
		}
		if _, err := os.Stat(filepath.Dir(w.db)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("tandem %v touched the workspace's database directory (%v)", args, err)
		}
	}
	// The check can fail: a command that needs the history creates it.
	if _, errOut, code := w.tandem("runs"); code != 0 {
		t.Fatalf("tandem runs: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(w.db); err != nil {
		t.Fatalf("tandem runs did not open the database: %v", err)
	}
}

// A regular expression in a package-level variable is compiled in the package's init, by
// every command, used or not; tandem's own are compiled on first use (sync.OnceValue).
func TestTandemCompilesNoRegexpAtInit(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}} {{.ImportPath}}{{end}}", "tandem/cmd/tandem").Output()
	if err != nil {
		t.Fatalf("go list -deps tandem/cmd/tandem: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		dir, path, _ := strings.Cut(line, " ")
		if path != "tandem" && !strings.HasPrefix(path, "tandem/") {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			checked++
			for _, decl := range f.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.VAR {
					continue
				}
				for _, spec := range gd.Specs {
					for _, v := range spec.(*ast.ValueSpec).Values {
						if isRegexpCompile(v) {
							t.Errorf("%s: a package-level regexp.MustCompile runs at every start; compile it on first use", name)
						}
					}
				}
			}
		}
	}
	if checked < 50 {
		t.Fatalf("checked only %d files: the check would pass on nothing", checked)
	}
}

func isRegexpCompile(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == "regexp" && (sel.Sel.Name == "MustCompile" || sel.Sel.Name == "MustCompilePOSIX")
}
