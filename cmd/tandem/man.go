package main

import (
	"fmt"
	"os"

	mango "github.com/muesli/mango-cobra"
	"github.com/muesli/roff"
	"github.com/spf13/cobra"
)

// manCommand prints the man page of the whole tree, as fang's own man command does; tandem
// builds it itself so it can leave --db and --sync out of its help.
func manCommand() *cobra.Command {
	return &cobra.Command{
		Use:                   "man",
		Short:                 "print the man page",
		DisableFlagsInUseLine: true,
		Hidden:                true,
		Args:                  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			// A tree of its own: the shadowing flags of withoutDB are hidden from help but
			// not from mango, which prints every flag.
			page, err := mango.NewManPage(1, commandTree())
			if err != nil {
				return fmt.Errorf("build the man page: %w", err)
			}
			_, err = fmt.Fprint(os.Stdout, page.Build(roff.NewDocument()))
			return err
		},
	}
}

// withoutDB hides the persistent --db and --sync from c and the commands under it, which
// open no database (init, validate, man, completion, help): each gets hidden flags of the same
// names, which shadow the root's in its help. They are still accepted, so a script that
// passes --db to every command keeps working.
func withoutDB(c *cobra.Command) {
	for _, name := range []string{"db", "sync"} {
		if c.Flags().Lookup(name) == nil { // not LocalFlags: it would merge the root's in first
			f := c.Flags()
			f.String(name, "", "unused: this command opens no database")
			_ = f.MarkHidden(name)
		}
	}
	for _, sub := range c.Commands() {
		withoutDB(sub)
	}
}
