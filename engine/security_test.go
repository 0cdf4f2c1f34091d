package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tandem/engine"
	"tandem/flows"
)

// hostileInputs are flow inputs (or model replies) that must reach a shell: command as data.
var hostileInputs = []string{"x; touch pwned", "$(touch pwned)", "`touch pwned`", "a\ntouch pwned", "'; touch pwned; '", "*"}

func TestAShellStepGetsInputsAndEarlierOutputsLiterally(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		for _, v := range hostileInputs {
			h := newHarness(t, open)
			h.file("reply.txt", v)
			f := h.flow("f.yaml", `name: f
inputs:
  topic: { type: string }
steps:
  - id: model
    shell: cat reply.txt
  - id: use
    needs: [model]
    shell: "printf '%s|%s' {{ .inputs.topic }} \"{{ .steps.model.output }}\" > got.txt"
`)
			st := h.run(f, map[string]string{"topic": v})
			if st.Status != engine.RunStatusSucceeded {
				t.Fatalf("input %q: run %s: %s", v, st.Status, st.Error)
			}
			if got, want := h.read("got.txt"), v+"|"+strings.TrimRight(v, "\n"); got != want {
				t.Errorf("input %q: the step printed %q, want %q", v, got, want)
			}
			if _, err := os.Stat(filepath.Join(h.dir, "pwned")); err == nil {
				t.Fatalf("input %q ran as shell code", v)
			}
		}
	})
}

func TestASecretInputNeverEntersTheLog(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		const secret = "s3cr3t-token-value"
		h := newHarness(t, open)
		f := h.flow("f.yaml", `name: f
inputs:
  token: { type: string, secret: true }
  user: { type: string }
steps:
  - id: use
    shell: 'test {{ .inputs.token }} = "$TANDEM_SECRET_TOKEN" && echo "user {{ .inputs.user }} token {{ .inputs.token }}"'
  - id: env
    run: ["sh", "-c", "echo $API_KEY | wc -c"]
    env: { API_KEY: "{{ .inputs.token }}" }
  - id: leak
    shell: echo "$TANDEM_SECRET_TOKEN" >&2; echo "$TANDEM_SECRET_TOKEN"; exit 3
`)
		st := h.run(f, map[string]string{"token": secret, "user": "ann"})
		if got := st.Steps["use"].Output; got != "user ann token "+flows.Redacted {
			t.Errorf("use printed %q, want the token masked", got)
		}
		if got := strings.TrimSpace(st.Steps["env"].Output); got != "19" {
			t.Errorf("env: got a %s-byte API_KEY, want the 18-byte secret and a newline", got)
		}
		events, err := h.store.Events(context.Background(), st.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range events {
			if strings.Contains(string(ev.Data), secret) {
				t.Errorf("event %s holds the secret: %s", ev.Type, ev.Data)
			}
		}
		if len(events) < 4 || !strings.Contains(string(events[0].Data), flows.Redacted) {
			t.Errorf("run_started should record the input as %s: %s", flows.Redacted, events[0].Data)
		}

		t.Run("a process that does not know the secret says how to supply it", func(t *testing.T) {
			other, err := engine.New(engine.Options{Store: h.store, Parallel: 1, PollEvery: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			in, _ := flows.ResolveInputs(f, map[string]string{"token": secret, "user": "bob"})
			id, err := h.eng.Start(ctx, f, in, engine.StartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			st, err := other.Execute(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if e := st.Steps["use"].LastAttempt().Error; !strings.Contains(e, "TANDEM_SECRET_TOKEN") {
				t.Errorf("use failed with %q, want it to name TANDEM_SECRET_TOKEN", e)
			}
			t.Setenv("TANDEM_SECRET_TOKEN", secret)
			if err := other.Retry(ctx, id, "use", ""); err != nil {
				t.Fatal(err)
			}
			if st, err = other.Execute(ctx, id); err != nil {
				t.Fatal(err)
			}
			if got := st.Steps["use"].Output; got != "user bob token "+flows.Redacted {
				t.Errorf("with the secret in the environment, use printed %q", got)
			}
		})
	})
}

func TestRunsThatStartRunsStopAtTheNestingLimit(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		f := h.flow("f.yaml", "name: loop\nsteps:\n  - id: a\n    shell: echo hi\n")
		ctx := context.Background()
		parent, err := h.eng.Start(ctx, f, nil, engine.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for depth := 2; depth <= engine.MaxNesting; depth++ {
			res, err := h.eng.RunChild(ctx, engine.ChildRun{ParentRunID: parent, ParentStepID: "a", Attempt: 1, Path: f.Path})
			if err != nil {
				t.Fatalf("depth %d: %v", depth, err)
			}
			parent = res.RunID
		}
		_, err = h.eng.RunChild(ctx, engine.ChildRun{ParentRunID: parent, ParentStepID: "a", Attempt: 1, Path: f.Path})
		if !errors.Is(err, engine.ErrTooDeep) || !strings.Contains(err.Error(), "loop → loop") {
			t.Fatalf("err = %v, want ErrTooDeep naming the chain", err)
		}
		if !engine.IsPermanent(err) {
			t.Error("a nesting error should not be retried")
		}
	})
}
