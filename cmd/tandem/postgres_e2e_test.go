package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tandem/engine"
	"tandem/internal/pgtest"
	"tandem/store/postgres"
)

// on returns the workspace with its commands pointed at another database.
func (w *workspace) on(db string) *workspace { return &workspace{t: w.t, dir: w.dir, db: db} }

// eventsJSON is a run's log as `tandem events --json` prints it.
func eventsJSON(t *testing.T, w *workspace, runID string) string {
	t.Helper()
	out, errOut, code := w.tandem("events", runID, "--json")
	if code != 0 {
		t.Fatalf("events %s on %s: exit %d: %s", runID, w.db, code, errOut)
	}
	return out
}

func lastSeq(t *testing.T, events string) int64 {
	t.Helper()
	var evs []struct {
		Seq int64 `json:"seq"`
	}
	if err := json.Unmarshal([]byte(events), &evs); err != nil || len(evs) == 0 {
		t.Fatalf("events: %v %q", err, events)
	}
	return evs[len(evs)-1].Seq
}

const approvalFlow = "name: gate\nsteps:\n  - id: review\n    approval: { prompt: ok }\n  - id: publish\n    needs: [review]\n    shell: echo published\n"

func TestDBCopyMovesAHistoryToPostgresAndBackKeepingIDsAndSeqs(t *testing.T) {
	pg := pgtest.URL(t)
	w := newWorkspace(t)
	w.write("hi.yaml", "name: hi\nsteps:\n  - id: a\n    shell: echo hi\n  - id: b\n    needs: [a]\n    shell: echo there\n")
	w.write("gate.yaml", approvalFlow)
	var ids []string
	for _, f := range []string{"hi.yaml", "gate.yaml", "hi.yaml"} {
		out, errOut, _ := w.tandem("run", f)
		if !strings.HasPrefix(out, "run ") {
			t.Fatalf("run %s: %s %s", f, out, errOut)
		}
		ids = append(ids, firstLineRunID(t, out))
	}
	before := map[string]string{}
	var last int64
	for _, id := range ids {
		before[id] = eventsJSON(t, w, id)
		last = max(last, lastSeq(t, before[id]))
	}

	out, errOut, code := w.tandem("db", "copy", "--from", w.db, "--to", pg)
	if code != 0 || !strings.Contains(out, "copied 3 runs") || strings.Contains(out, "@127.0.0.1") && !strings.Contains(pg, "@") {
		t.Fatalf("copy to postgres: exit %d\n%s%s", code, out, errOut)
	}
	p := w.on(pg)
	for _, id := range ids {
		if got := eventsJSON(t, p, id); got != before[id] {
			t.Fatalf("run %s on postgres differs from the file:\n%s\nwant\n%s", id, got, before[id])
		}
	}
	// The copy is a working database: the waiting run goes on there, after the copied seqs.
	if out, errOut, code := p.tandem("approve", ids[1], "review"); code != 0 || !strings.Contains(out, "succeeded") {
		t.Fatalf("approve on postgres: exit %d\n%s%s", code, out, errOut)
	}
	gate := eventsJSON(t, p, ids[1])
	var was, now []json.RawMessage
	if err := json.Unmarshal([]byte(before[ids[1]]), &was); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(gate), &now); err != nil {
		t.Fatal(err)
	}
	if len(now) <= len(was) || string(now[len(was)-1]) != string(was[len(was)-1]) || lastSeq(t, gate) <= last {
		t.Fatalf("the approved run did not continue its copied log after seq %d:\n%s", last, gate)
	}
	if _, _, code := w.tandem("db", "copy", "--from", w.db, "--to", pg); code != 2 {
		t.Fatalf("a copy into a database that holds runs exited %d, want 2", code)
	}

	back := filepath.Join(t.TempDir(), "back.db")
	if out, errOut, code := w.tandem("db", "copy", "--from", pg, "--to", back); code != 0 || !strings.Contains(out, "copied 3 runs") {
		t.Fatalf("copy back: exit %d\n%s%s", code, out, errOut)
	}
	b := w.on(back)
	for _, id := range ids {
		if got, want := eventsJSON(t, b, id), eventsJSON(t, p, id); got != want {
			t.Fatalf("run %s copied back differs:\n%s\nwant\n%s", id, got, want)
		}
	}
	out, _, _ = b.tandem("run", "hi.yaml")
	if s := lastSeq(t, eventsJSON(t, b, firstLineRunID(t, out))); s <= lastSeq(t, gate) {
		t.Fatalf("a new run in the copied-back file got seq %d, not after the copied %d", s, lastSeq(t, gate))
	}
	if _, _, code := w.tandem("db", "copy", "--from", filepath.Join(w.dir, "missing.db"), "--to", back); code != 2 {
		t.Fatalf("a copy from a missing file exited %d, want 2", code)
	}
}

func TestPostgresBadURLsAreClear(t *testing.T) {
	w := newWorkspace(t)
	w.write("hi.yaml", "name: hi\nsteps:\n  - id: a\n    shell: echo hi\n")
	_, errOut, code := w.on("postgres://tandem:hunter2@127.0.0.1:1/nowhere?connect_timeout=2").tandem("run", "hi.yaml")
	if code == 0 || !strings.Contains(errOut, "127.0.0.1:1") || strings.Contains(errOut, "hunter2") {
		t.Fatalf("a server that is not there: exit %d, %q (want the address, never the password)", code, errOut)
	}
}

// TestThreeWorkersShareFiftyRunsAndOneIsKilled runs three `tandem worker` processes over one
// PostgreSQL database holding 50 detached runs and SIGKILLs one of them mid-way. Every run
// must succeed and every step must succeed exactly once in the log. Steps are at least once:
// only a step the killed worker had in flight (at most one per run it held, three) may have
// written its effect twice, under the same idempotency key; a committed step never runs again.
func TestThreeWorkersShareFiftyRunsAndOneIsKilled(t *testing.T) {
	const runs = 50
	pg := pgtest.URL(t)
	w := newWorkspace(t).on(pg)
	w.write("share.yaml", `name: share
steps:
  - id: a
    shell: echo "$TANDEM_IDEMPOTENCY_KEY" >> effects.log; sleep 0.02
  - id: b
    needs: [a]
    shell: echo "$TANDEM_IDEMPOTENCY_KEY" >> effects.log; sleep 0.02
  - id: c
    needs: [b]
    shell: echo "$TANDEM_IDEMPOTENCY_KEY" >> effects.log
`)
	want := map[string]bool{}
	for i := 0; i < runs; i++ {
		out, errOut, code := w.tandem("run", "share.yaml", "--detach")
		if code != 0 {
			t.Fatalf("run --detach: exit %d %s", code, errOut)
		}
		want[firstLineRunID(t, out)] = true
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var mu sync.Mutex
	succeeded := map[string]bool{}
	all := make(chan struct{})
	killed := make(chan struct{}, 1)
	var procs []*os.Process
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		c := w.cmd(ctx, "worker", "--runs", "3", "--poll", "200ms")
		stdout, err := c.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, c.Process)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sc := bufio.NewScanner(stdout)
			starts := 0
			for sc.Scan() {
				// "TIME  run ID  succeeded": a run's status; "TIME  run ID  step S ...": a step.
				f := strings.Fields(sc.Text())
				if len(f) < 4 || f[1] != "run" || f[3] != "succeeded" {
					continue
				}
				mu.Lock()
				succeeded[f[2]] = true
				if len(succeeded) == runs {
					close(all)
				}
				mu.Unlock()
				// Worker 0 dies once it has finished a few runs, with more in hand.
				if i == 0 {
					if starts++; starts == 3 {
						killed <- struct{}{}
					}
				}
			}
			_ = c.Wait()
		}(i)
	}
	select {
	case <-killed:
		if err := procs[0].Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("worker 0 never finished three runs")
	}
	// The workers' lines say when every run has succeeded. A run the killed worker finished
	// in its last instant has no line (its commit landed, its print did not), so the log is
	// asked too whenever the lines fall quiet.
	watch, err := postgres.Open(context.Background(), pg)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	unfinished := func() []string {
		var left []string
		for id := range want {
			mu.Lock()
			seen := succeeded[id]
			mu.Unlock()
			if seen {
				continue
			}
			if info, err := watch.Run(context.Background(), id); err != nil || info.Status != engine.RunStatusSucceeded {
				left = append(left, fmt.Sprintf("%s (%s, lease %q)", id, info.Status, info.LeaseOwner))
			}
		}
		return left
	}
	quiet := time.NewTicker(time.Second)
	defer quiet.Stop()
wait:
	for {
		select {
		case <-all:
			break wait
		case <-quiet.C:
			if len(unfinished()) == 0 {
				break wait
			}
		case <-ctx.Done():
			t.Fatalf("runs not finished after 5 minutes: %v", unfinished())
		}
	}
	for _, p := range procs[1:] {
		_ = p.Signal(syscall.SIGINT)
	}
	wg.Wait()

	db, err := postgres.Open(context.Background(), pg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b, _ := os.ReadFile(filepath.Join(w.dir, "effects.log"))
	effects := map[string]int{}
	for _, k := range strings.Fields(string(b)) {
		effects[k]++
	}
	reran := 0
	for id := range want {
		evs, err := db.Events(context.Background(), id, 0)
		if err != nil {
			t.Fatal(err)
		}
		done := map[string]int{}
		for _, e := range evs {
			if e.Type == engine.StepSucceeded {
				done[e.StepID]++
				if key := fmt.Sprintf("%s/%s/%d", id, e.StepID, e.Attempt); effects[key] == 0 {
					t.Errorf("the committed attempt %s wrote no effect", key)
				}
			}
			if e.Type == engine.StepStarted && e.Attempt > 1 {
				reran++
			}
		}
		for _, step := range []string{"a", "b", "c"} {
			if done[step] != 1 {
				t.Errorf("run %s: step %s succeeded %d times", id, step, done[step])
			}
		}
		if info, _ := db.Run(context.Background(), id); info.Status != engine.RunStatusSucceeded {
			t.Errorf("run %s is %s", id, info.Status)
		}
	}
	doubled := 0
	for k, n := range effects {
		switch {
		case n == 2:
			doubled++
		case n != 1:
			t.Errorf("attempt %s ran %d times", k, n)
		}
	}
	if doubled > 3 {
		t.Errorf("%d steps ran twice; the killed worker held at most 3", doubled)
	}
	if len(effects) != 3*runs {
		t.Errorf("%d distinct step attempts wrote effects, want %d", len(effects), 3*runs)
	}
	t.Logf("%d effects for %d steps; %d in flight at the kill ran again; %d later attempts", len(effects), 3*runs, doubled, reran)
}

// TestUIE2EWorkbenchOnPostgresFollowsARunOfAnotherProcess opens the workbench on a team
// database and runs a flow from another process (as a worker on another machine would): the
// run appears in the workbench while it runs and is shown succeeded when it ends.
func TestUIE2EWorkbenchOnPostgresFollowsARunOfAnotherProcess(t *testing.T) {
	requireTmux(t)
	pg := pgtest.URL(t)
	w := newWorkspace(t).on(pg)
	elsewhere := filepath.Join(t.TempDir(), "elsewhere.yaml")
	release := filepath.Join(t.TempDir(), "release")
	if err := os.WriteFile(elsewhere, []byte("name: elsewhere\nsteps:\n  - id: first\n    shell: echo first\n"+
		"  - id: hold\n    needs: [first]\n    shell: 'while [ ! -f "+release+" ]; do sleep 0.05; done; echo held'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.write("local.yaml", "name: local\nsteps:\n  - id: a\n    shell: echo a\n")
	s := startTmux(t, w.dir, 140, 40, []string{"TANDEM_DB=" + pg}, tandemBin(t), "ui")
	s.waitForText("Flows")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := w.cmd(ctx, "run", elsewhere)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	s.waitFor("the other process's run, still running", func(scr string) bool {
		for _, l := range strings.Split(scr, "\n") {
			if strings.Contains(l, "elsewhere") && !strings.Contains(l, "✓ elsewhere") {
				return true
			}
		}
		return false
	})
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("the other process's run: %v", err)
	}
	s.waitFor("the run shown succeeded", func(scr string) bool {
		for _, l := range strings.Split(scr, "\n") {
			if strings.Contains(l, "✓ elsewhere") {
				return true
			}
		}
		return false
	})
	s.keys("q")
}

// TestPostgresWrongCredentialsAreClear connects as the one role the test server checks
// passwords for (scripts/postgres-test-server): a wrong password is refused with the server's
// reason and the address, never the password, and nothing is run; the right one works.
func TestPostgresWrongCredentialsAreClear(t *testing.T) {
	admin := pgtest.Server(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `DO $$ BEGIN
		CREATE ROLE tandem_auth_test LOGIN PASSWORD 'right-one';
	EXCEPTION WHEN duplicate_object THEN
		ALTER ROLE tandem_auth_test LOGIN PASSWORD 'right-one';
	END $$`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `DROP DATABASE IF EXISTS tandem_auth_test`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `CREATE DATABASE tandem_auth_test OWNER tandem_auth_test`); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	as := func(password string) string {
		v := *u
		v.User = url.UserPassword("tandem_auth_test", password)
		v.Path = "/tandem_auth_test"
		return v.String()
	}
	w := newWorkspace(t)
	w.write("hi.yaml", "name: hi\nsteps:\n  - id: a\n    shell: echo hi > ran.txt\n")
	_, errOut, code := w.on(as("wrong-one")).tandem("run", "hi.yaml")
	if code == 0 || !strings.Contains(errOut, "password authentication failed") || !strings.Contains(errOut, u.Host) ||
		strings.Contains(errOut, "wrong-one") {
		t.Fatalf("a wrong password: exit %d, %q (want the server's reason and the address, never the password)", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(w.dir, "ran.txt")); err == nil {
		t.Fatal("the flow ran although the database refused the connection")
	}
	if out, errOut, code := w.on(as("right-one")).tandem("run", "hi.yaml"); code != 0 {
		t.Fatalf("the right password: exit %d\n%s\n%s", code, out, errOut)
	}
}
