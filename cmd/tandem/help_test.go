package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestEveryFlagUsageReadsRightInHelp walks every command's flags. fang prints a flag's usage
// as written, with its first word title-cased: backquotes around a placeholder show as they
// are (in --help and in tandem man), and a first word such as SQLite or JSON comes out as
// Sqlite or Json.
func TestEveryFlagUsageReadsRightInHelp(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if strings.Contains(f.Usage, "`") {
				t.Errorf("%s --%s: usage %q has backquotes, which help prints as they are", c.CommandPath(), f.Name, f.Usage)
			}
			first, _, _ := strings.Cut(f.Usage, " ")
			if len(first) > 1 && strings.ToLower(first[1:]) != first[1:] {
				t.Errorf("%s --%s: usage %q starts with %q, which help prints title-cased", c.CommandPath(), f.Name, f.Usage, first)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot())
}
