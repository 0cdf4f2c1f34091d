package main_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The security cases below drive the real binary. Where a model must do something hostile,
// a scripted Ollama API plays that model: a 135M model cannot be steered into a given call.

// scriptedModel answers /api/chat with replies in order (the last one repeats) and records
// the last message of each request.
type scriptedModel struct {
	replies []string
	told    []string
}

func startScriptedModel(t *testing.T, replies ...string) (*httptest.Server, *scriptedModel) {
	t.Helper()
	s := &scriptedModel{replies: replies}
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveScripted(w, r, func(msgs []chatMessage) string {
			mu.Lock()
			defer mu.Unlock()
			if n := len(msgs); n > 0 {
				s.told = append(s.told, msgs[n-1].Content)
			}
			return s.replies[min(len(s.told)-1, len(s.replies)-1)]
		})
	}))
	t.Cleanup(srv.Close)
	return srv, s
}

type chatMessage struct{ Role, Content string }

// serveScripted answers the Ollama API calls tandem makes, for a model without native tools
// whose reply to each /api/chat is what reply returns for the request's messages.
func serveScripted(w http.ResponseWriter, r *http.Request, reply func([]chatMessage) string) {
	serveScriptedStream(w, r, func(_ *http.Request, msgs []chatMessage, chunk func(string, bool)) {
		chunk(reply(msgs), false)
		chunk("", true)
	})
}

// serveScriptedStream is serveScripted for a reply that streams: reply sends its answer with
// chunk, piece by piece (done ends it with its usage), and may wait in between.
func serveScriptedStream(w http.ResponseWriter, r *http.Request, reply func(r *http.Request, msgs []chatMessage, chunk func(s string, done bool))) {
	switch r.URL.Path {
	case "/api/version":
		w.Write([]byte(`{"version":"0.17.4"}`))
	case "/api/show":
		w.Write([]byte(`{"capabilities":["completion"]}`))
	case "/api/tags":
		w.Write([]byte(`{"models":[{"name":"scripted"}]}`))
	case "/api/chat":
		var req struct{ Messages []chatMessage }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		enc := json.NewEncoder(w)
		reply(r, req.Messages, func(s string, done bool) {
			m := map[string]any{"model": "scripted", "created_at": "2025-01-02T03:04:05Z",
				"message": map[string]any{"role": "assistant", "content": s}, "done": done}
			if done {
				m["done_reason"], m["prompt_eval_count"], m["eval_count"] = "stop", 10, 5
			}
			enc.Encode(m)
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
		})
	default:
		http.NotFound(w, r)
	}
}

func action(v map[string]any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestSecurityShellStepsTakeInputsAndModelRepliesAsData(t *testing.T) {
	hostile := []string{"x; touch pwned", "$(touch pwned)", "`touch pwned`", "x\ntouch pwned", "*"}
	for _, v := range hostile {
		w := newWorkspace(t)
		w.write("readme.yaml", "name: readme\ninputs:\n  topic: { type: string, default: tides }\nsteps:\n  - id: fetch\n    shell: \"echo {{ .inputs.topic }} >> log.txt\"\n")
		if out, errOut, code := w.tandem("run", "readme.yaml", "-i", "topic="+v); code != 0 {
			t.Fatalf("topic %q: exit %d\n%s\n%s", v, code, out, errOut)
		}
		if got := readFile(t, filepath.Join(w.dir, "log.txt")); got != v+"\n" {
			t.Errorf("topic %q: log.txt = %q", v, got)
		}
		if _, err := os.Stat(filepath.Join(w.dir, "pwned")); err == nil {
			t.Fatalf("topic %q ran as a command", v)
		}
	}

	t.Run("an llm reply rendered into a later shell step", func(t *testing.T) {
		const reply = "Sure! $(touch pwned) `touch pwned`; touch pwned"
		srv, _ := startScriptedModel(t, reply)
		w := newWorkspace(t)
		t.Setenv("OLLAMA_HOST", srv.URL)
		t.Setenv("TANDEM_MODEL", "scripted")
		w.write("draft.yaml", "name: draft\nsteps:\n  - id: write\n    llm: { prompt: \"write a title\" }\n  - id: save\n    needs: [write]\n    shell: printf '%s' {{ .steps.write.output }} > title.txt\n")
		if out, errOut, code := w.tandem("run", "draft.yaml"); code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
		if got := readFile(t, filepath.Join(w.dir, "title.txt")); got != reply {
			t.Errorf("title.txt = %q, want the reply as it was", got)
		}
		if _, err := os.Stat(filepath.Join(w.dir, "pwned")); err == nil {
			t.Fatal("the model's reply ran as a command")
		}
	})
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSecurityAnAgentCannotReadOrRewriteTandemsFiles(t *testing.T) {
	tests := []struct {
		name string
		call map[string]any
		file string // a file that must be unchanged
		db   string // the database, relative to the workspace (default .tandem/tandem.db)
	}{
		{"reading the log beside a database kept elsewhere", map[string]any{"tool": "read_file", "arguments": map[string]any{"path": "state/tandem.log"}}, "", "state/runs.db"},
		{"reading the run database", map[string]any{"tool": "read_file", "arguments": map[string]any{"path": ".tandem/tandem.db"}}, "", ""},
		{"overwriting the run database", map[string]any{"tool": "write_file", "arguments": map[string]any{"path": ".tandem/tandem.db", "content": "gone"}}, "", ""},
		{"rewriting the flow it runs in", map[string]any{"tool": "write_file", "arguments": map[string]any{"path": "job.yaml", "content": "name: job\nsteps:\n  - id: x\n    shell: touch pwned\n"}}, "job.yaml", ""},
		{"granting itself shell", map[string]any{"tool": "write_file", "arguments": map[string]any{"path": "helper.yaml", "content": "name: helper\nsystem: x\ntools: [shell]\n"}}, "helper.yaml", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, script := startScriptedModel(t, action(tt.call), action(map[string]any{"answer": "done"}))
			w := newWorkspace(t)
			if tt.db != "" {
				w.db = filepath.Join(w.dir, tt.db)
			}
			t.Setenv("OLLAMA_HOST", srv.URL)
			t.Setenv("TANDEM_MODEL", "scripted")
			const agent = "name: helper\nsystem: You help.\ntools: [read_file, write_file]\nmax_turns: 3\n"
			const flow = "name: job\nsteps:\n  - id: act\n    agent: helper.yaml\n    prompt: do it\n"
			w.write("helper.yaml", agent)
			w.write("job.yaml", flow)
			if out, errOut, code := w.tandem("run", "job.yaml"); code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			if len(script.told) < 2 || !strings.Contains(script.told[1], "protected by tandem") {
				t.Fatalf("the model was told %q, want a refusal", script.told)
			}
			if strings.Contains(strings.Join(script.told, "\n"), "SQLite format") {
				t.Fatal("the model saw the database")
			}
			if tt.file != "" {
				want := map[string]string{"job.yaml": flow, "helper.yaml": agent}[tt.file]
				if got := readFile(t, filepath.Join(w.dir, tt.file)); got != want {
					t.Errorf("%s now holds %q", tt.file, got)
				}
			}
			if out, _, code := w.tandem("runs"); code != 0 || !strings.Contains(out, "job") {
				t.Errorf("the run history is gone: exit %d\n%s", code, out)
			}
		})
	}
}

func TestSecurityPrintersDropTerminalEscapes(t *testing.T) {
	w := newWorkspace(t)
	w.write("esc.yaml", "name: esc\nsteps:\n  - id: loud\n    shell: printf 'a\\033]52;c;cHduZWQ=\\007b\\033[2J\\033]0;title\\007c\\n'\n")
	out, errOut, code := w.tandem("run", "esc.yaml")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	id := firstLineRunID(t, out)
	for _, args := range [][]string{{"show", id}, {"show", id, "--full"}, {"events", id}, {"run", "esc.yaml"}} {
		out, errOut, _ := w.tandem(args...)
		if strings.ContainsRune(out+errOut, 0x1b) || strings.ContainsRune(out+errOut, 0x07) {
			t.Errorf("tandem %s printed an escape: %q", strings.Join(args, " "), out+errOut)
		}
	}
	if out, _, _ := w.tandem("show", id); !strings.Contains(out, "abc") {
		t.Errorf("show lost the text around the escapes:\n%s", out)
	}

	t.Run("in a model's reply, through trace and ask", func(t *testing.T) {
		const reply = "safe\x1b]52;c;cHduZWQ=\x07 text\x1b[2J\x9b6n end"
		srv, _ := startScriptedModel(t, reply)
		t.Setenv("OLLAMA_HOST", srv.URL)
		t.Setenv("TANDEM_MODEL", "scripted")
		w.write("say.yaml", "name: say\nsteps:\n  - id: talk\n    llm: { prompt: hello }\n")
		w.write("sayer.yaml", "name: sayer\nsystem: You talk.\ntools: []\ntool_calling: native\nmax_turns: 1\n")
		out, errOut, code := w.tandem("run", "say.yaml")
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
		id := firstLineRunID(t, out)
		for _, args := range [][]string{{"trace", id}, {"show", id}, {"ask", "sayer.yaml", "hi"}} {
			out, errOut, code := w.tandem(args...)
			if strings.ContainsRune(out+errOut, 0x1b) || strings.ContainsRune(out+errOut, 0x07) || strings.Contains(out+errOut, "\u009b") {
				t.Errorf("tandem %s printed an escape: %q", strings.Join(args, " "), out+errOut)
			}
			if code == 0 && !strings.Contains(out, "safe") {
				t.Errorf("tandem %s lost the reply: %q", strings.Join(args, " "), out)
			}
		}
	})
}

func TestSecurityTheWorkspaceStateIsPrivate(t *testing.T) {
	const secret = "tok-9f8e7d6c5b4a"
	w := newWorkspace(t)
	w.write("s.yaml", "name: s\ninputs:\n  token: { type: string, secret: true }\nsteps:\n  - id: use\n    shell: 'test {{ .inputs.token }} = \"$TANDEM_SECRET_TOKEN\" && echo \"got {{ .inputs.token }}\"'\n")
	out, errOut, code := w.tandem("run", "s.yaml", "-i", "token="+secret)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	id := firstLineRunID(t, out)
	show, _, _ := w.tandem("show", id, "--full")
	if !strings.Contains(show, "got [secret]") || strings.Contains(show+out, secret) {
		t.Errorf("show should mask the secret:\n%s\n%s", out, show)
	}
	for _, name := range []string{"tandem.db", "tandem.db-wal", "tandem.log"} {
		p := filepath.Join(w.dir, ".tandem", name)
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the WAL may have been checkpointed away
		}
		if strings.Contains(string(b), secret) {
			t.Errorf("%s holds the secret in clear", name)
		}
		st, _ := os.Stat(p)
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %o, want owner-only", name, st.Mode().Perm())
		}
	}
	if st, err := os.Stat(filepath.Join(w.dir, ".tandem")); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf(".tandem: %v %v, want 0700", st.Mode(), err)
	}

	t.Run("a secret can come from the environment instead of -i", func(t *testing.T) {
		t.Setenv("TANDEM_SECRET_TOKEN", secret)
		out, errOut, code := w.tandem("run", "s.yaml")
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
	})
}
