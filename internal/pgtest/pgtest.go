// Package pgtest gives tests an empty PostgreSQL schema of their own on a real server: the
// one $TANDEM_TEST_POSTGRES names, or else the one scripts/postgres-test-server starts.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var (
	once      sync.Once
	serverURL string
	serverErr error
)

// Server returns the test server's URL, starting the script's server when
// $TANDEM_TEST_POSTGRES is unset. Without one, t is skipped with what to do, or fails in CI
// ($CI set), where a missing server is a broken machine, not a reason to test less.
func Server(t testing.TB) string {
	t.Helper()
	once.Do(func() { serverURL, serverErr = find() })
	if serverErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no PostgreSQL test server (CI is set, so this fails): %v", serverErr)
		}
		t.Skipf("no PostgreSQL test server, skipping: %v\n"+
			"  set TANDEM_TEST_POSTGRES=postgres://user@host:port/db, or run `bash scripts/postgres-test-server start` (as root or postgres, with Debian's postgresql package)", serverErr)
	}
	return serverURL
}

func find() (string, error) {
	if u := os.Getenv("TANDEM_TEST_POSTGRES"); u != "" {
		return u, ping(u)
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "postgres-test-server")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script, "start")
	cmd.Env = append(os.Environ(), "TANDEM_PG_INSTALL=0") // tests never apt-get
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("TANDEM_TEST_POSTGRES is unset and %s start failed: %v: %s", script, err, strings.TrimSpace(stderr.String()))
	}
	u := strings.TrimSpace(string(out))
	return u, ping(u)
}

func ping(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", u, err)
	}
	return c.Close(ctx)
}

// URL returns the URL of a new, empty schema on the test server (its search_path), dropped
// when t ends. Stores opened on it see only their own tables and wake-ups.
func URL(t testing.TB) string {
	t.Helper()
	base := Server(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	exec := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, sql)
		return err
	}
	if err := exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		if err := exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", base, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
