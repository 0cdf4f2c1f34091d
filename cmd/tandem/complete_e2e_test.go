package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// bashCompletion is bash-completion's library, which cobra's bash script builds on.
const bashCompletion = "/usr/share/bash-completion/bash_completion"

// complete asks a real bash, with `tandem completion bash` sourced, what it completes the
// words to: it sets COMP_WORDS and COMP_CWORD as readline would and calls the completion
// function the script registered for tandem.
func complete(t *testing.T, w *workspace, words ...string) []string {
	t.Helper()
	script := `source "$BASH_COMPLETION"
source <(tandem completion bash)
fn=$(complete -p tandem | sed -E 's/.*-F ([^ ]+).*/\1/')
COMP_WORDS=("$@")
COMP_CWORD=$(( $# - 1 ))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
"$fn" tandem "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" 2>/dev/null
printf '%s\n' "${COMPREPLY[@]}"
`
	c := exec.Command("bash", append([]string{"-c", script, "bash"}, words...)...)
	c.Dir = w.dir
	c.Env = append(os.Environ(), "TANDEM_DB="+w.db, "BASH_COMPLETION="+bashCompletion,
		"PATH="+filepath.Dir(tandemBin(t))+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := c.Output()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

func TestCLIBashCompletesRunIDsStepsAndFlowFiles(t *testing.T) {
	if _, err := os.Stat(bashCompletion); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("bash-completion is not installed (%v); .ci/run installs it", err)
		}
		t.Skip("bash-completion is not installed: apt-get install bash-completion")
	}
	w := newWorkspace(t)
	w.write("two.yaml", "name: two\nsteps:\n  - id: fetch\n    shell: echo a\n  - id: report\n    needs: [fetch]\n    shell: echo b\n")
	w.write("notes.txt", "not a flow\n")
	var ids []string
	for i := 0; i < 2; i++ {
		out, _, code := w.tandem("run", "two.yaml")
		if code != 0 {
			t.Fatalf("run: exit %d\n%s", code, out)
		}
		ids = append(ids, firstLineRunID(t, out))
	}
	// The shortest prefix of ids[0] that ids[1] does not share.
	n := 1
	for strings.HasPrefix(ids[1], ids[0][:n]) {
		n++
	}
	if got := complete(t, w, "tandem", "show", ids[0][:n]); len(got) != 1 || got[0] != ids[0] {
		t.Errorf("tandem show %s<TAB> = %v, want %s", ids[0][:n], got, ids[0])
	}
	if got := complete(t, w, "tandem", "show", ""); len(got) < 2 {
		t.Errorf("tandem show <TAB> = %v, want both runs", got)
	}
	if got := complete(t, w, "tandem", "retry", ids[1], "re"); len(got) != 1 || got[0] != "report" {
		t.Errorf("tandem retry RUN re<TAB> = %v, want report", got)
	}
	// Flow files and directories to look in, not other files.
	if got := strings.Join(complete(t, w, "tandem", "run", ""), " "); !strings.Contains(got, "two.yaml") || strings.Contains(got, "notes.txt") {
		t.Errorf("tandem run <TAB> = %v, want the flow file and not notes.txt", got)
	}
	w.write("wait.yaml", "name: wait\nsteps:\n  - id: hold\n    wait: { event: publish }\n")
	out, _, code := w.tandem("run", "wait.yaml")
	if code != 0 {
		t.Fatalf("run wait.yaml: exit %d\n%s", code, out)
	}
	if got := complete(t, w, "tandem", "signal", firstLineRunID(t, out), ""); len(got) != 1 || got[0] != "publish" {
		t.Errorf("tandem signal RUN <TAB> = %v, want the event the run waits for", got)
	}
	if got := complete(t, w, "tandem", "sh"); len(got) != 1 || got[0] != "show" {
		t.Errorf("tandem sh<TAB> = %v, want show", got)
	}
}
