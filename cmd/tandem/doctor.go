package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"tandem/agents/model"
	"tandem/agents/ollama"
	"tandem/store"
	"tandem/store/postgres"
)

type check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	Info string `json:"info"`
	Fix  string `json:"fix,omitempty"`
}

func (a *app) doctor(ctx context.Context) error {
	checks := append(doctorChecks(ctx), databaseCheck(ctx, a.db))
	failed := false
	for _, c := range checks {
		failed = failed || !c.OK
	}
	if a.json {
		if err := printJSON(checks); err != nil {
			return err
		}
	} else {
		for _, c := range checks {
			mark := "✓"
			if !c.OK {
				mark = "✗"
			}
			fmt.Fprintf(stdout, "%s %-14s %s\n", mark, c.Name, c.Info)
			if c.Fix != "" {
				fmt.Fprintf(stdout, "  %-14s → %s\n", "", c.Fix)
			}
		}
	}
	if failed {
		return exitError{code: exitFailed}
	}
	return nil
}

// databaseCheck opens the workspace's database, if there is one, and runs SQLite's
// integrity check over it.
func databaseCheck(ctx context.Context, path string) check {
	c := check{Name: "database"}
	if postgres.IsURL(path) {
		return serverDatabaseCheck(ctx, path)
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		c.OK, c.Info = true, "none yet at "+path+" (the first run creates it)"
		return c
	}
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		c.Info, c.Fix = err.Error(), "check the file's permissions and the tandem version that wrote it"
		return c
	}
	defer db.Close()
	problems, err := db.CheckIntegrity(ctx)
	switch {
	case err != nil:
		c.Info = err.Error()
	case len(problems) > 0:
		c.Info = fmt.Sprintf("%s is damaged: %s (%d problems)", path, problems[0], len(problems))
		c.Fix = "restore it from a backup, or copy out what is readable with sqlite3 " + path + " .recover"
	default:
		c.OK, c.Info = true, path+": integrity ok"
	}
	return c
}

// serverDatabaseCheck connects to a team database, migrating it if needed, and checks its log.
func serverDatabaseCheck(ctx context.Context, url string) check {
	c := check{Name: "database"}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	db, err := postgres.Open(ctx, url)
	if err != nil {
		c.Info, c.Fix = err.Error(), "check the URL (host, port, database, user and password) and that the server is up: pg_isready -d '"+postgres.Redact(url)+"'"
		return c
	}
	defer db.Close()
	problems, err := db.CheckIntegrity(ctx)
	switch {
	case err != nil:
		c.Info = err.Error()
	case len(problems) > 0:
		c.Info = fmt.Sprintf("%s: %s (%d problems)", db.Location(), problems[0], len(problems))
	default:
		c.OK, c.Info = true, db.Location()+": reachable, log consistent"
	}
	return c
}

func doctorChecks(ctx context.Context) []check {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	o, err := ollama.FromEnvironment()
	if err != nil {
		return []check{{Name: "server", Info: err.Error(), Fix: "set OLLAMA_HOST to host:port, e.g. 127.0.0.1:11434"}}
	}
	v, err := o.Version(ctx)
	if err != nil {
		return []check{{Name: "server", Info: err.Error(),
			Fix: "start it with `ollama serve` (install and cache it with `bash scripts/ollama-setup`)"}}
	}
	if v == "0.0.0" { // what a build from source without release flags reports (go install)
		v = "(built from source, no version)"
	}
	checks := []check{{Name: "server", OK: true, Info: "Ollama " + v + " at " + o.Host()}}
	name := model.DefaultModel()
	caps, err := o.Capabilities(ctx, name)
	switch {
	case errors.Is(err, model.ErrModelNotFound):
		checks = append(checks, check{Name: "default model", Info: name + " is not installed",
			Fix: "run `ollama pull " + name + "` (offline: `bash scripts/ollama-setup`), or set TANDEM_MODEL to a local model (tandem models)"})
	case err != nil:
		checks = append(checks, check{Name: "default model", Info: err.Error()})
	default:
		info := name + " (" + capText(caps) + ")"
		c := check{Name: "default model", OK: caps.Completion, Info: info}
		if !caps.Tools {
			c.Info += "; no native tool calling: agents use the JSON fallback"
		}
		checks = append(checks, c)
	}
	return checks
}

func capText(c model.Capabilities) string {
	var s []string
	if c.Completion {
		s = append(s, "completion")
	}
	if c.Tools {
		s = append(s, "tools")
	}
	if c.Thinking {
		s = append(s, "thinking")
	}
	if len(s) == 0 {
		return "no capabilities reported"
	}
	return strings.Join(s, ", ")
}

func (a *app) modelsCommand() *cobra.Command {
	models := a.command(spec{use: "models", short: "list local models (models pull NAME downloads one)", json: "print JSON",
		run: func(ctx context.Context, _ []string) error { return a.listModels(ctx) }})
	models.AddCommand(a.command(spec{use: "pull NAME", short: "download a model into the local Ollama server",
		run: func(ctx context.Context, args []string) error { return pullModel(ctx, args[0]) }}))
	return models
}

func (a *app) listModels(ctx context.Context) error {
	o, err := ollama.FromEnvironment()
	if err != nil {
		return usageError{err}
	}
	list, err := o.List(ctx)
	if err != nil {
		return err
	}
	if a.json {
		if list == nil {
			list = []model.LocalModel{}
		}
		return printJSON(list)
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no local models: tandem models pull "+model.DefaultAgentModel+" (offline: bash scripts/ollama-setup)")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIZE\tPARAMS\tQUANT\tCAPABILITIES")
	for _, m := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Name, humanSize(m.Size), m.ParameterSize, m.Quantization, capText(m.Capabilities))
	}
	return tw.Flush()
}

func pullModel(ctx context.Context, name string) error {
	o, err := ollama.FromEnvironment()
	if err != nil {
		return usageError{err}
	}
	last := ""
	err = o.Pull(ctx, name, func(p model.PullProgress) {
		line := p.Status
		if p.Total > 0 {
			const width = 30
			done := int(float64(width) * float64(p.Completed) / float64(p.Total))
			line = fmt.Sprintf("%-28.28s [%s%s] %s/%s", p.Status, strings.Repeat("█", done), strings.Repeat("░", width-done),
				humanSize(p.Completed), humanSize(p.Total))
		}
		if line != last {
			// Redraw the progress line: the only escape tandem writes unfiltered, around a
			// status text that is cleaned first.
			fmt.Fprintf(os.Stderr, "\r\033[K%s", cleanTerminal([]byte(line)))
			last = line
		}
	})
	fmt.Fprintln(stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pulled %s\n", name)
	return nil
}

func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
