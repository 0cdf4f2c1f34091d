package agents_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tandem/agents"
	"tandem/agents/model"
)

// toldAfter runs an agent whose scripted model makes exactly one hostile tool call, and
// returns what the tool told the model. A 135M model cannot be steered into these calls, so
// the model is scripted; the tools, the runner and the files are real.
func toldAfter(t *testing.T, dir string, tool agents.Tool, args map[string]any) string {
	t.Helper()
	fake := &model.Fake{Replies: []model.FakeReply{
		{ToolCalls: []model.ToolCall{call(tool.Name, args)}},
		{Deltas: []model.Delta{{Content: "done"}}},
	}}
	r := &agents.Runner{Model: fake, Caps: caps{tools: true}}
	if _, err := r.Run(context.Background(), agents.Task{Agent: agentIn(t, dir, ""), Prompt: "go", Tools: []agents.Tool{tool}}); err != nil {
		t.Fatalf("run: %v", err)
	}
	calls := fake.Calls()
	if len(calls) < 2 {
		t.Fatalf("the model was asked %d times", len(calls))
	}
	msgs := calls[1].Messages
	return msgs[len(msgs)-1].Content
}

func mustWrite(t *testing.T, p, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readBack(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

const flowFile = "name: nightly\nsteps:\n  - id: a\n    shell: echo hi\n"

func TestFileToolsRefuseTandemsOwnFiles(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	mustWrite(t, filepath.Join(dir, ".tandem", "tandem.db"), "SQLite format 3\x00secret prompts")
	mustWrite(t, filepath.Join(dir, "data", "other.db"), "SQLite format 3\x00more")
	mustWrite(t, filepath.Join(dir, "nightly.yaml"), flowFile)
	mustWrite(t, filepath.Join(dir, "notes", "config.yaml"), "port: 8421\nmodel: not-an-agent-file\n")
	mustWrite(t, filepath.Join(dir, "custom-state"), "guarded")
	mustWrite(t, filepath.Join(dir, "evals", "reader.yaml"), "name: reader-evals\ntarget: ../agent.yaml\ncases:\n  - id: port\n    input: what port?\n    expect: [{ contains: 8421 }]\n")
	mustWrite(t, filepath.Join(outside, "secret.txt"), "outside secret")
	if err := os.Symlink(filepath.Join(dir, ".tandem", "tandem.db"), filepath.Join(dir, "innocent.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(dir, "leak.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "created.txt"), filepath.Join(dir, "dangling.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	ws := agents.Workspace{Root: dir, Protected: []string{filepath.Join(dir, "custom-state")}}

	refused := []struct {
		name  string
		tool  agents.Tool
		args  map[string]any
		check func(t *testing.T) // the files the call must have left alone
	}{
		{"reading the run database", agents.ReadFile(ws), map[string]any{"path": ".tandem/tandem.db"}, nil},
		{"reading the database through ..", agents.ReadFile(ws), map[string]any{"path": "notes/../.tandem/tandem.db"}, nil},
		{"reading the database through a symlink", agents.ReadFile(ws), map[string]any{"path": "innocent.txt"}, nil},
		{"listing .tandem", agents.ListDir(ws), map[string]any{"path": ".tandem"}, nil},
		{"reading another SQLite database", agents.ReadFile(ws), map[string]any{"path": "data/other.db"}, nil},
		{"reading a protected path", agents.ReadFile(ws), map[string]any{"path": "custom-state"}, nil},
		{"overwriting the database", agents.WriteFile(ws), map[string]any{"path": ".tandem/tandem.db", "content": "gone"}, func(t *testing.T) {
			if got := readBack(t, filepath.Join(dir, ".tandem", "tandem.db")); !strings.HasPrefix(got, "SQLite format 3") {
				t.Errorf("the database now holds %q", got)
			}
		}},
		{"reading a flow file", agents.ReadFile(ws), map[string]any{"path": "nightly.yaml"}, nil},
		{"rewriting a flow file", agents.WriteFile(ws), map[string]any{"path": "nightly.yaml", "content": "steps: []\n"}, func(t *testing.T) {
			if got := readBack(t, filepath.Join(dir, "nightly.yaml")); got != flowFile {
				t.Errorf("the flow file now holds %q", got)
			}
		}},
		{"rewriting its own agent file to grant itself shell", agents.WriteFile(ws), map[string]any{"path": "agent.yaml", "content": "name: helper\nsystem: x\ntools: [shell]\n"}, func(t *testing.T) {
			if got := readBack(t, filepath.Join(dir, "agent.yaml")); strings.Contains(got, "[shell]") {
				t.Errorf("the agent file now grants shell: %q", got)
			}
		}},
		{"rewriting an eval suite's expectations", agents.WriteFile(ws), map[string]any{"path": "evals/reader.yaml", "content": "name: e\ntarget: agent.yaml\ncases: []\n"}, func(t *testing.T) {
			if got := readBack(t, filepath.Join(dir, "evals", "reader.yaml")); !strings.Contains(got, "contains: 8421") {
				t.Errorf("the suite now holds %q", got)
			}
		}},
		{"writing a new flow file", agents.WriteFile(ws), map[string]any{"path": "evil.yml", "content": flowFile}, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(dir, "evil.yml")); err == nil {
				t.Error("evil.yml was written")
			}
		}},
		{"reading through a symlink leading out", agents.ReadFile(ws), map[string]any{"path": "leak.txt"}, nil},
		{"reading through a symlinked directory leading out", agents.ReadFile(ws), map[string]any{"path": "out/secret.txt"}, nil},
		{"writing through a dangling symlink leading out", agents.WriteFile(ws), map[string]any{"path": "dangling.txt", "content": "escaped"}, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(outside, "created.txt")); err == nil {
				t.Error("the write followed the dangling link out of the workspace")
			}
		}},
		{"writing into a symlinked directory leading out", agents.WriteFile(ws), map[string]any{"path": "out/new.txt", "content": "escaped"}, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(outside, "new.txt")); err == nil {
				t.Error("the write went out of the workspace")
			}
		}},
		{"reading an absolute path outside", agents.ReadFile(ws), map[string]any{"path": filepath.Join(outside, "secret.txt")}, nil},
		{"reading ../ outside", agents.ReadFile(ws), map[string]any{"path": "../" + filepath.Base(outside) + "/secret.txt"}, nil},
		{"listing /", agents.ListDir(ws), map[string]any{"path": "/"}, nil},
	}
	for _, tt := range refused {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			told := toldAfter(t, dir, tt.tool, tt.args)
			for _, leak := range []string{"secret prompts", "outside secret", "guarded", "more", "echo hi"} {
				if strings.Contains(told, leak) {
					t.Fatalf("the model was told %q", told)
				}
			}
			if !strings.Contains(told, "error") && !strings.Contains(told, "refused") {
				t.Errorf("the model was told %q, want a clear tool error", told)
			}
			if tt.check != nil {
				tt.check(t)
			}
		})
	}

	allowed := []struct {
		name string
		tool agents.Tool
		args map[string]any
		want string
	}{
		{"reading a data YAML file that is not a definition", agents.ReadFile(ws), map[string]any{"path": "notes/config.yaml"}, "port: 8421"},
		{"writing a new text file", agents.WriteFile(ws), map[string]any{"path": "notes/next.txt", "content": "buy milk"}, "wrote 8 bytes"},
		{"listing the top", agents.ListDir(ws), map[string]any{"path": "."}, "notes/"},
	}
	for _, tt := range allowed {
		t.Run("allows "+tt.name, func(t *testing.T) {
			if told := toldAfter(t, dir, tt.tool, tt.args); !strings.Contains(told, tt.want) {
				t.Errorf("the model was told %q, want %q in it", told, tt.want)
			}
		})
	}
}

func TestHTTPGetRefusesPrivateAddressesByDefault(t *testing.T) {
	var hits atomic.Int32
	inside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, "model server internals")
	}))
	defer inside.Close()
	u, _ := url.Parse(inside.URL)
	_, port, _ := strings.Cut(u.Host, ":")
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:"+port+"/", http.StatusFound)
	}))
	defer redirect.Close()
	dir := t.TempDir()

	refused := []struct {
		name   string
		policy agents.HTTPPolicy
		url    string
	}{
		{"loopback by IP", agents.HTTPPolicy{Enabled: true}, inside.URL},
		{"loopback by name", agents.HTTPPolicy{Enabled: true}, "http://localhost:" + port + "/"},
		{"cloud metadata (link-local)", agents.HTTPPolicy{Enabled: true}, "http://169.254.169.254/latest/meta-data/"},
		{"a private network", agents.HTTPPolicy{Enabled: true}, "http://10.0.0.1/"},
		{"IPv6 loopback", agents.HTTPPolicy{Enabled: true}, "http://[::1]:" + port + "/"},
		{"a file URL", agents.HTTPPolicy{Enabled: true}, "file:///etc/passwd"},
		{"a redirect from an allowed host to one not allowed", agents.HTTPPolicy{Enabled: true, AllowHosts: []string{"127.0.0.1"}}, redirect.URL},
		{"a host outside allow_hosts", agents.HTTPPolicy{Enabled: true, AllowHosts: []string{"example.com"}}, inside.URL},
		{"anything while the tool is off", agents.HTTPPolicy{AllowHosts: []string{"127.0.0.1"}}, inside.URL},
	}
	for _, tt := range refused {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			before := hits.Load()
			told := toldAfter(t, dir, agents.HTTPGet(tt.policy), map[string]any{"url": tt.url})
			if strings.Contains(told, "internals") || hits.Load() != before {
				t.Fatalf("the request reached the server; the model was told %q", told)
			}
			if !strings.Contains(told, "refused") && !strings.Contains(told, "off") && !strings.Contains(told, "only http") {
				t.Errorf("the model was told %q, want it to say the address was refused", told)
			}
		})
	}

	t.Run("allows a host named in allow_hosts, ignoring proxy variables", func(t *testing.T) {
		t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
		t.Setenv("http_proxy", "http://127.0.0.1:1")
		told := toldAfter(t, dir, agents.HTTPGet(agents.HTTPPolicy{Enabled: true, AllowHosts: []string{"127.0.0.1"}}), map[string]any{"url": inside.URL})
		if !strings.Contains(told, "HTTP 200") || !strings.Contains(told, "internals") {
			t.Fatalf("the model was told %q", told)
		}
	})

	t.Run("cuts a large body at the size limit", func(t *testing.T) {
		big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(strings.Repeat("x", 1<<20)))
		}))
		defer big.Close()
		told := toldAfter(t, dir, agents.HTTPGet(agents.HTTPPolicy{Enabled: true, AllowHosts: []string{"127.0.0.1"}, MaxBytes: 100}), map[string]any{"url": big.URL})
		if !strings.HasSuffix(told, "[truncated]") || len(told) > 200 {
			t.Fatalf("the model was told %d bytes ending %q", len(told), told[max(0, len(told)-20):])
		}
	})

	t.Run("gives up on a server that never answers", func(t *testing.T) {
		release := make(chan struct{})
		stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer stalled.Close()
		defer close(release)
		told := toldAfter(t, dir, agents.HTTPGet(agents.HTTPPolicy{Enabled: true, AllowHosts: []string{"127.0.0.1"}, Timeout: 50 * time.Millisecond}), map[string]any{"url": stalled.URL})
		if !strings.Contains(told, "error") || !strings.Contains(told, "deadline") && !strings.Contains(told, "timeout") {
			t.Fatalf("the model was told %q, want a timeout", told)
		}
	})
}
