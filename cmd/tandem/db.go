package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"tandem/store"
	"tandem/store/postgres"
)

// dbCommand is `tandem db`, the database's administration; `db copy` moves a history.
func (a *app) dbCommand() *cobra.Command {
	db := &cobra.Command{Use: "db", Short: "move a history between a SQLite file and a PostgreSQL database (db copy)", Args: cobra.NoArgs}
	var from, to string
	db.AddCommand(a.command(spec{use: "copy --from DB --to DB", short: "copy every run, event and session into an empty database, keeping ids and seqs",
		long: "DB is a SQLite file or a postgres:// URL. The target must hold no runs (a new file is created); " +
			"it is filled in one transaction, so a failed copy leaves it empty.",
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&from, "from", "", "the database to read: a SQLite file or a postgres:// URL")
			f.StringVar(&to, "to", "", "the empty database to fill: a SQLite file (created if missing) or a postgres:// URL")
		},
		run: func(ctx context.Context, _ []string) error { return copyDatabase(ctx, from, to) }}))
	return db
}

func copyDatabase(ctx context.Context, from, to string) error {
	if from == "" || to == "" {
		return usagef("usage: tandem db copy --from FILE.db|postgres://... --to FILE.db|postgres://...")
	}
	if from == to {
		return usagef("db copy: --from and --to name the same database")
	}
	if !postgres.IsURL(from) {
		// Opening a mistyped path would create an empty database and copy nothing.
		if _, err := os.Stat(from); errors.Is(err, fs.ErrNotExist) {
			return usagef("db copy: %s does not exist", from)
		}
	}
	src, err := openDatabase(ctx, from, store.SyncFull)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := openDatabase(ctx, to, store.SyncFull)
	if err != nil {
		return err
	}
	defer dst.Close()
	n, err := store.Copy(ctx, src, dst)
	if errors.Is(err, store.ErrNotEmpty) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copied %d runs, %d events (last seq %d) and %d sessions from %s to %s\n",
		n.Runs, n.Events, n.LastSeq, n.Sessions, src.Location(), dst.Location())
	return nil
}
