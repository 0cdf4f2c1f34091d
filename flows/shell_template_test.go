package flows

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// hostile are values a flow input or a model reply may carry; each must reach the command
// as the literal text, never as shell code.
var hostile = []string{
	"x; touch pwned",
	"$(touch pwned)",
	"`touch pwned`",
	`it's "quoted" \ back\\slash`,
	"two\nlines; touch pwned",
	"*.go ?[a-z]",
	"~ -n $HOME ${HOME} $((1+1))",
	"'; touch pwned; echo '",
	`"; touch pwned; echo "`,
	"EOF\ntouch pwned",
	"",
	"plain-word_1.2",
	"#not a comment",
	"a\tb\r\n",
}

func runShell(t *testing.T, dir, cmd string) string {
	t.Helper()
	c := exec.Command("sh", "-c", cmd)
	c.Dir = dir
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("sh -c %q: %v\n%s", cmd, err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Fatalf("sh -c %q ran injected code", cmd)
	}
	return string(out)
}

func TestShellValuesArriveLiterally(t *testing.T) {
	contexts := []struct {
		name, tmpl string
		want       func(v string) string
	}{
		{"as a bare word", `printf '%s|' {{ .inputs.v }}`, func(v string) string { return v + "|" }},
		{"glued to other text in a word", `printf '%s|' --v={{ .inputs.v }}.txt`, func(v string) string { return "--v=" + v + ".txt|" }},
		{"inside double quotes", `printf '%s|' "<{{ .inputs.v }}> $TANDEM_X"`, func(v string) string { return "<" + v + "> set|" }},
		{"inside single quotes", `printf '%s|' '<{{ .inputs.v }}>'`, func(v string) string { return "<" + v + ">|" }},
		{"inside $( )", `printf '%s|' "$(printf '%s' {{ .inputs.v }})"`, func(v string) string { return strings.TrimRight(v, "\n") + "|" }},
		{"inside backticks", "printf '%s|' \"`printf '%s' {{ .inputs.v }}`\"", func(v string) string { return strings.TrimRight(v, "\n") + "|" }},
		{"in a comment", "printf 'ok|' # {{ .inputs.v }}\nprintf 'after|'", func(string) string { return "ok|after|" }},
		{"through the quote helper", `printf '%s|' {{ quote .inputs.v }}`, func(v string) string { return v + "|" }},
		{"in an if branch", `{{ if .inputs.v }}printf '%s|' {{ .inputs.v }}{{ else }}printf 'empty|'{{ end }}`, func(v string) string {
			if v == "" {
				return "empty|"
			}
			return v + "|"
		}},
		{"after an arithmetic shift", "echo $((1 << 2)) >/dev/null\nprintf '%s|' {{ .inputs.v }}", func(v string) string { return v + "|" }},
		{"in a range", `{{ range .inputs.list }}printf '%s|' {{ . }};{{ end }}`, func(v string) string { return v + "|" + v + "|" }},
	}
	for _, c := range contexts {
		t.Run("a value "+c.name, func(t *testing.T) {
			for _, v := range hostile {
				dir := t.TempDir()
				cmd, err := RenderShell(c.tmpl, map[string]any{"inputs": map[string]any{"v": v, "list": []any{v, v}}})
				if err != nil {
					t.Fatalf("render %q with %q: %v", c.tmpl, v, err)
				}
				got := runShell(t, dir, "TANDEM_X=set; "+cmd)
				if want := c.want(v); got != want {
					t.Errorf("value %q rendered as %q printed %q, want %q", v, cmd, got, want)
				}
			}
		})
	}
}

func TestShellHeredocBodies(t *testing.T) {
	for _, quoted := range []bool{false, true} {
		delim := "EOF"
		if quoted {
			delim = "'EOF'"
		}
		tmpl := "cat <<" + delim + "\nstart {{ .inputs.v }} end\nEOF\nprintf 'after'"
		for _, v := range hostile {
			dir := t.TempDir()
			cmd, err := RenderShell(tmpl, map[string]any{"inputs": map[string]any{"v": v}})
			if strings.Contains(v, "EOF\n") {
				if err == nil || !strings.Contains(err.Error(), "here-document") {
					t.Errorf("quoted=%v: a value with the delimiter on a line of its own rendered (%q, %v)", quoted, cmd, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("quoted=%v render %q: %v", quoted, v, err)
			}
			got := runShell(t, dir, cmd)
			if want := "start " + v + " end\nafter"; got != want {
				t.Errorf("quoted=%v: value %q printed %q, want %q", quoted, v, got, want)
			}
		}
	}
}

func TestRawSplicesShellCode(t *testing.T) {
	dir := t.TempDir()
	cmd, err := RenderShell(`{{ raw .inputs.cmd }}`, map[string]any{"inputs": map[string]any{"cmd": "printf a; printf b"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := runShell(t, dir, cmd); got != "ab" {
		t.Errorf("raw printed %q, want ab", got)
	}
}

func TestShellTemplatesThatCannotBeEscaped(t *testing.T) {
	for _, tmpl := range []string{
		`{{ if .inputs.v }}echo "{{ end }}x"`,
		`{{ range .inputs.l }}echo '{{ end }}'`,
		"cat <<{{ .inputs.v }}\nx\n",
		`printf $'{{ .inputs.v }}'`,
		"(( 1 << 2 ))\necho {{ .inputs.v }}",
	} {
		if _, err := RenderShell(tmpl, map[string]any{"inputs": map[string]any{"v": "a", "l": []any{}}}); err == nil {
			t.Errorf("%q rendered; want an error saying the quoting cannot be followed", tmpl)
		}
	}
}

func TestValidateWarnsWhenRawDataReachesAShell(t *testing.T) {
	src := "name: w\ninputs:\n  cmd: { type: string }\nsteps:\n  - id: a\n    shell: 'echo {{ raw .inputs.cmd }}'\n  - id: b\n    shell: 'echo {{ raw \"literal\" }} {{ .inputs.cmd }}'\n"
	f, err := Parse("w.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Warnings) != 1 {
		t.Fatalf("warnings = %v, want one for step a", f.Warnings)
	}
	if w := f.Warnings[0].Error(); !strings.HasPrefix(w, "w.yaml:6:25:") || !strings.Contains(w, ".inputs.cmd") {
		t.Errorf("warning %q should point at .inputs.cmd in step a's command and name it", w)
	}
}

func TestValidateRejectsAShellCommandWithAmbiguousQuoting(t *testing.T) {
	src := "name: w\ninputs:\n  v: { type: string }\nsteps:\n  - id: a\n    shell: '{{ if .inputs.v }}echo \"{{ end }}x\"'\n"
	_, err := Parse("w.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "w.yaml:6:12:") || !strings.Contains(err.Error(), "quoting") {
		t.Fatalf("err = %v, want a positioned quoting error", err)
	}
}

// FuzzRenderShell feeds arbitrary command templates through the shell-context escaper: it
// must never panic, and a value that renders must not appear unescaped in a word context.
func FuzzRenderShell(f *testing.F) {
	for _, seed := range []string{
		`echo {{ .v }}`, `echo "{{ .v }}" '{{ .v }}'`, "cat <<EOF\n{{ .v }}\nEOF\n",
		"echo `{{ .v }}` $( {{ .v }} ) # {{ .v }}", `{{ if .v }}"{{ .v }}"{{ end }}`, `$(({{ .v }}))`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tmpl string) {
		out, err := RenderShell(tmpl, map[string]any{"v": "a;b"})
		if err != nil {
			return
		}
		if tmpl == "{{ .v }}" && out != "'a;b'" {
			t.Fatalf("%q rendered %q", tmpl, out)
		}
	})
}

func TestValidateRejectsAShellCommandThatLeavesAQuoteOpen(t *testing.T) {
	for _, tc := range []struct {
		name, shell, pos, open string
		yamlHint               bool
	}{
		{"a YAML comment cut the value after a value", `echo "hi {{ .run.id }} #{{ .run.id }}"`, "w.yaml:4:5:", `"..."`, true},
		{"a YAML comment cut a plain command", `echo "a #b"`, "w.yaml:4:5:", `"..."`, true},
		{"an apostrophe opens a single quote", `echo it's`, "w.yaml:4:5:", `'...'`, false},
		{"a command substitution is never closed", "|\n      echo $(date\n", "w.yaml:4:5:", "$( ... )", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "name: w\nsteps:\n  - id: a\n    shell: " + tc.shell + "\n  - id: b\n    run: [\"true\"]\n"
			_, err := Parse("w.yaml", []byte(src))
			if err == nil {
				t.Fatalf("%q validated; want an error about the open quote", tc.shell)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tc.pos) || !strings.Contains(msg, tc.open) || !strings.Contains(msg, "never closed") {
				t.Errorf("err = %q, want %s ... %s that is never closed", msg, tc.pos, tc.open)
			}
			if got := strings.Contains(msg, `ends at " #"`); got != tc.yamlHint {
				t.Errorf("err = %q; YAML comment hint %v, want %v", msg, got, tc.yamlHint)
			}
		})
	}
	for _, ok := range []string{
		`'echo "hi {{ .run.id }} #x"'`, "echo ok # don't", "|\n      cat <<EOF\n      it's \"\n      EOF\n",
		`'echo "a" ''b'' $(echo "c)") ` + "`x`'",
	} {
		if _, err := Parse("w.yaml", []byte("name: w\nsteps:\n  - id: a\n    shell: "+ok+"\n")); err != nil {
			t.Errorf("shell: %s: %v; want it valid", ok, err)
		}
	}
}

func TestValidateReportsABadShellTemplateOnceWithoutTemplateInternals(t *testing.T) {
	for _, tc := range []struct{ name, shell, want string }{
		{"an unclosed action", `echo {{ .inputs.x`, `bad template "echo {{ .inputs.x": unclosed action`},
		{"an unknown function", `echo {{ .run.id | nosuchfn }}`, `: function "nosuchfn" not defined`},
		{"an action left open over lines", "|\n      echo hi\n      echo {{ .run.id\n", "line 3 of the template: unclosed action started on line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("w.yaml", []byte("name: w\ninputs:\n  x: { type: string, default: a }\nsteps:\n  - id: a\n    shell: "+tc.shell+"\n"))
			var d Diagnostics
			if !errors.As(err, &d) {
				t.Fatalf("err = %v, want diagnostics", err)
			}
			if len(d) != 1 || !strings.Contains(d[0].Error(), tc.want) || strings.Contains(d[0].Error(), "t:") {
				t.Fatalf("diagnostics = %q, want one containing %q and no template name", d, tc.want)
			}
		})
	}
}
