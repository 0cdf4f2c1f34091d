package main

import (
	"fmt"
	"image/color"
	"reflect"
	"strings"
	"testing"

	"charm.land/fang/v2"
	"charm.land/lipgloss/v2"
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

// TestHelpColorsAreFangsDefault holds tandem's help colours to fang's own scheme, for a dark
// and a light terminal: tandem only writes the same colours without charmtone's keys.
func TestHelpColorsAreFangsDefault(t *testing.T) {
	for _, dark := range []bool{true, false} {
		got := reflect.ValueOf(helpColors(lipgloss.LightDark(dark)))
		want := reflect.ValueOf(fang.DefaultColorScheme(lipgloss.LightDark(dark)))
		for i := range got.NumField() {
			name := got.Type().Field(i).Name
			g, w := got.Field(i), want.Field(i)
			if g.Kind() == reflect.Array {
				for j := range g.Len() {
					checkColor(t, fmt.Sprintf("%s[%d] (dark %v)", name, j, dark), g.Index(j), w.Index(j))
				}
				continue
			}
			checkColor(t, fmt.Sprintf("%s (dark %v)", name, dark), g, w)
		}
	}
}

func checkColor(t *testing.T, name string, got, want reflect.Value) {
	t.Helper()
	if got.IsNil() || want.IsNil() {
		if got.IsNil() != want.IsNil() {
			t.Errorf("%s: %v, fang has %v", name, got, want)
		}
		return
	}
	g, w := got.Interface().(color.Color), want.Interface().(color.Color)
	gr, gg, gb, ga := g.RGBA()
	wr, wg, wb, wa := w.RGBA()
	if [4]uint32{gr, gg, gb, ga} != [4]uint32{wr, wg, wb, wa} {
		t.Errorf("%s: %v, fang has %v", name, g, w)
	}
}
