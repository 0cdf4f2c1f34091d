package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"tandem/agents"
	"tandem/agents/tracefmt"
	"tandem/engine"
	"tandem/flows"
)

// agentCommands talk with agents, evaluate and promote them, and look after the models.
func (a *app) agentCommands() []*cobra.Command {
	var session string
	return []*cobra.Command{
		a.command(spec{use: `ask AGENT.yaml "prompt" [--session NAME] [--json]`, short: "ask an agent once; the answer on stdout, tool calls on stderr",
			json: "print the result as JSON", agent: true, complete: completeAgentFile,
			flags: func(f *pflag.FlagSet) {
				f.StringVar(&session, "session", "", "continue (or start) this memory session")
			},
			onDB: func(ctx context.Context, e *env, args []string) error {
				res, err := askOnce(ctx, e, args[0], args[1], session, !a.json)
				if !a.json {
					return err
				}
				if perr := printJSON(res); perr != nil {
					return perr
				}
				if res.Status != string(engine.RunStatusSucceeded) {
					return exitError{code: exitFailed}
				}
				return nil
			}}),
		a.command(spec{use: "chat AGENT.yaml [--session NAME]", short: "talk with an agent in the terminal (a session that persists)",
			agent: true, complete: completeAgentFile,
			flags: func(f *pflag.FlagSet) {
				f.StringVar(&session, "session", "", "session name (default: a new one per chat)")
			},
			run: func(ctx context.Context, args []string) error { return a.chat(ctx, args[0], session) }}),
		a.evalCommand(),
		a.promoteCommand(),
		a.command(spec{use: "doctor", short: "check the Ollama server and the default model; say how to fix problems", json: "print JSON",
			run: func(ctx context.Context, _ []string) error { return a.doctor(ctx) }}),
		a.modelsCommand(),
	}
}

// askResult is what --json prints.
type askResult struct {
	RunID     string `json:"run_id"`
	Answer    any    `json:"answer"`
	Status    string `json:"status"`
	EndReason string `json:"end_reason,omitempty"`
	Error     string `json:"error,omitempty"`
	Tokens    engine.Tokens
}

// askOnce runs an agent as a one-step run (traced and resumable like any run), streaming
// what it does: tool calls to stderr, the answer to stdout.
func askOnce(ctx context.Context, e *env, agentPath, prompt, session string, live bool) (askResult, error) {
	abs, err := filepath.Abs(agentPath)
	if err != nil {
		return askResult{}, err
	}
	a, err := flows.LoadAgent(abs)
	if err != nil {
		var diags flows.Diagnostics
		if errors.As(err, &diags) {
			fmt.Fprintln(stderr, diags.Error())
			return askResult{}, exitError{code: exitUsage}
		}
		return askResult{}, usageError{err}
	}
	if session == "" && a.Memory == "session" {
		session = a.Name
	}
	src, fpath := flows.AgentFlow(abs, a.Name)
	f, err := flows.Parse(fpath, src)
	if err != nil {
		return askResult{}, err
	}
	id, err := e.engine.Start(ctx, f, flows.AgentInputs(prompt, session, ""), engine.StartOptions{Session: session})
	if err != nil {
		return askResult{}, err
	}
	sub := e.engine.Bus().Subscribe("")
	done := make(chan struct{})
	printed := make(chan bool)
	go func() {
		wrote := false
		fallback := false // the current turn's reply is a JSON action: print its decoded answer
		show := func(n engine.Notice) {
			if !live {
				return
			}
			if d := n.Delta; d != nil && d.RunID == id {
				switch {
				case d.Trace != nil:
					if rec, err := agents.Decode(d.Trace.Kind, d.Trace.Data); err == nil {
						if turn, ok := rec.(agents.Turn); ok {
							fallback = turn.Mode == "fallback"
						}
					}
				case d.Stream == string(agents.KindContent) && !fallback, d.Stream == string(agents.KindAnswer):
					fmt.Fprint(stdout, d.Text)
					wrote = true
				}
			}
			if ev := n.Event; ev != nil && ev.Type == engine.StepTrace && (ev.RunID == id || strings.HasPrefix(ev.RunID, id+".")) {
				printToolTrace(stderr, ev)
			}
		}
		for {
			select {
			case <-sub.Ready():
				for _, n := range sub.Next() {
					show(n)
				}
			case <-done:
				for _, n := range sub.Next() {
					show(n)
				}
				printed <- wrote
				return
			}
		}
	}()
	st, err := e.engine.Execute(ctx, id)
	close(done)
	wrote := <-printed
	sub.Close()
	res := askResult{RunID: id}
	if st == nil {
		return res, err
	}
	res.Status, res.Tokens, res.Error = string(st.Status), st.Tokens, st.Error
	if s, ok := st.Steps["agent"]; ok {
		res.Answer = outputJSONOrText(s.Output)
	}
	res.EndReason = endReason(ctx, e, id)
	if live {
		switch {
		case st.Status == engine.RunStatusSucceeded && wrote:
			fmt.Fprintln(stdout)
		case st.Status == engine.RunStatusSucceeded:
			fmt.Fprintln(stdout, st.Steps["agent"].Output)
		default:
			fmt.Fprintf(stderr, "run %s %s: %s\nsee why: tandem trace %s\n", id, st.Status, st.Error, id)
		}
	}
	if err != nil {
		return res, err
	}
	if st.Status != engine.RunStatusSucceeded {
		return res, exitError{code: exitFailed}
	}
	return res, nil
}

func outputJSONOrText(s string) any {
	var v any
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
		if json.Unmarshal([]byte(t), &v) == nil {
			return v
		}
	}
	return s
}

// endReason reads the agent's end reason from its trace.
func endReason(ctx context.Context, e *env, runID string) string {
	events, err := e.db.Events(ctx, runID, 0)
	if err != nil {
		return ""
	}
	reason := ""
	for _, ev := range events {
		var d engine.TraceData
		if ev.Type == engine.StepTrace && ev.Decode(&d) == nil && d.Kind == string(agents.KindEnd) {
			if rec, err := agents.Decode(d.Kind, d.Data); err == nil {
				reason = rec.(agents.End).EndReason
			}
		}
	}
	return reason
}

// printToolTrace shows tool calls and results as they are logged.
func printToolTrace(w io.Writer, ev *engine.Event) {
	var d engine.TraceData
	if ev.Decode(&d) != nil {
		return
	}
	rec, err := agents.Decode(d.Kind, d.Data)
	if err != nil {
		fmt.Fprintf(w, "! %v\n", err)
		return
	}
	if l, ok := tracefmt.Brief(rec, 120); ok {
		fmt.Fprintln(w, l.Text)
	}
}

func (a *app) chat(ctx context.Context, agentPath, session string) error {
	// Ctrl-C stops the current reply, not the chat: handle SIGINT here, per reply.
	signal.Reset(os.Interrupt)
	e, err := a.open(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	defer e.close()
	name := session
	if name == "" {
		name = fmt.Sprintf("chat-%s-%s", strings.TrimSuffix(filepath.Base(agentPath), filepath.Ext(agentPath)), time.Now().Format("20060102-150405"))
	}
	fmt.Fprintf(stderr, "chatting with %s (session %s). Ctrl-C stops a reply, Ctrl-D or /exit leaves.\n", agentPath, name)
	in := bufio.NewScanner(os.Stdin)
	for {
		fmt.Fprint(stderr, "\n› ")
		if !in.Scan() {
			fmt.Fprintln(stderr)
			return nil
		}
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		if line == "/exit" || line == "/quit" {
			return nil
		}
		replyCtx, cancel := context.WithCancel(context.Background())
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt)
		go func() {
			select {
			case <-sig:
				cancel()
			case <-replyCtx.Done():
			}
		}()
		_, err := askOnce(replyCtx, e, agentPath, line, name, true)
		signal.Stop(sig)
		cancel()
		var stopped *agents.StoppedError
		if err != nil && !errors.As(err, &stopped) {
			var ee exitError
			if !errors.As(err, &ee) && !errors.Is(err, context.Canceled) {
				fmt.Fprintf(stderr, "error: %v\n", err)
			}
		}
	}
}
