package ui

import (
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// plainRows renders md at width and returns its rows without styling or the padding.
func plainRows(t *testing.T, md string, width int) []string {
	t.Helper()
	rows := newMarkdownCache().render(md, width, true)
	out := make([]string, len(rows))
	for i, r := range rows {
		if w := ansi.StringWidth(r); w != width {
			t.Errorf("row %d is %d cells wide, want %d: %q", i, w, width, r)
		}
		out[i] = strings.TrimRight(ansi.Strip(r), " ")
	}
	return out
}

func TestMarkdownRendersEachConstructForATerminal(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		md    string
		width int
		want  []string
	}{
		{"a title stands alone, lower headings keep their level", "# Title\n\n## Part\n\n### Detail", 40,
			[]string{"Title", "", "## Part", "", "### Detail"}},
		{"a paragraph is wrapped at the width, soft breaks joined", "one two three\nfour five six seven", 14,
			[]string{"one two three", "four five six", "seven"}},
		{"a hard line break is kept", "first  \nsecond", 40, []string{"first", "second"}},
		{"a word wider than the pane is cut", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"emphasis and code lose their markers", "*it* **bold** `code x`", 40, []string{"it bold code x"}},
		{"a link shows its text and address", "see [the docs](https://example.com/d) and <https://x.org>", 60,
			[]string{"see the docs (https://example.com/d) and https://x.org"}},
		{"an image shows its alt text and address", "![a cat](cat.png)", 40, []string{"a cat (cat.png)"}},
		{"a fenced block keeps its lines and indentation", "```go\nfunc f() {\n    return\n}\n```", 40,
			[]string{"  func f() {", "      return", "  }"}},
		{"an indented block is code too", "text\n\n    x := 1\n    y := 2", 40, []string{"text", "", "  x := 1", "  y := 2"}},
		{"a long code line continues at its indent", "```\n0123456789\n```", 8, []string{"  012345", "  6789"}},
		{"bullets nest with their own marks", "- a\n- b\n  - c\n    - d\n- e", 40,
			[]string{"• a", "• b", "  ◦ c", "    ▪ d", "• e"}},
		{"numbers count from the list's start and align", "9. nine\n1. ten\n1. eleven", 40,
			[]string{" 9. nine", "10. ten", "11. eleven"}},
		{"a list item's text wraps under its own start", "- one two three four", 10,
			[]string{"• one two", "  three", "  four"}},
		{"a loose list keeps its blank rows", "- a\n\n- b", 40, []string{"• a", "", "• b"}},
		{"a quote has a bar on every row", "> to be or not to be", 12, []string{"│ to be or", "│ not to be"}},
		{"a rule spans the pane", "a\n\n---\n\nb", 6, []string{"a", "", "──────", "", "b"}},
		{"a table that fits is aligned", "| name | n |\n|---|--:|\n| a.go | 10 |\n| main.go | `2` |", 40,
			[]string{"name    │  n", "────────┼───", "a.go    │ 10", "main.go │  2"}},
		{"a centred column is centred", "| a | b | c |\n|:-:|:--|---|\n| wide | x | y |", 40,
			[]string{" a   │ b │ c", "─────┼───┼──", "wide │ x │ y"}},
		{"a table too wide is written row by row", "| name | what |\n|---|---|\n| a | the first file |\n| b | two |", 16,
			[]string{"name: a", "what: the first", "file", "", "name: b", "what: two"}},
		{"a pipe in a paragraph is no table", "a | b\nnot a delimiter row", 40, []string{"a | b not a delimiter row"}},
		{"escapes and entities are resolved", `\*not em\* &amp; &lt;tag&gt; &#65;`, 40, []string{"*not em* & <tag> A"}},
		{"blocks are separated by one blank row", "para\n\n- item\n\n> quote", 40, []string{"para", "", "• item", "", "│ quote"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := plainRows(t, c.md, c.width)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("rendered\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestMarkdownStylesWhatItsMarkersSaid(t *testing.T) {
	t.Parallel()
	th := newMDTheme(true)
	rows := newMarkdownCache().render("# Title\n\nplain **bold** *it* `code` [link](u)\n\n```\nblock\n```", 60, true)
	all := strings.Join(rows, "\n")
	for _, c := range []struct {
		name string
		mark mdMark
		text string
	}{
		{"the title", mdHeading | mdTitle, "Title"},
		{"strong text", mdStrong, "bold"},
		{"emphasis", mdEmph, "it"},
		{"inline code", mdCode, "code"},
		{"a link", mdLink, "link"},
		{"a link's address", mdURL, "(u)"},
	} {
		if want := th.style(c.mark).render(c.text); !strings.Contains(all, want) {
			t.Errorf("%s is not styled: want %q in\n%q", c.name, want, all)
		}
	}
	if !strings.Contains(all, th.code.render("block")) {
		t.Errorf("the code block is not styled as code:\n%q", all)
	}
	if strings.Contains(all, th.style(mdStrong).render("plain")) {
		t.Error("plain text is styled as strong")
	}
	// Light and dark backgrounds get different colours.
	if light := newMarkdownCache().render("`code`", 20, false); light[0] == newMarkdownCache().render("`code`", 20, true)[0] {
		t.Error("inline code looks the same on light and dark backgrounds")
	}
}

// sgr is the one kind of escape sequence the renderer writes itself: colours and styles.
var sgr = regexp.MustCompile(`\x1b\[[0-9;:]*m`)

// terminalUnsafe reports what in a rendered row, besides the renderer's own styling, a
// terminal would act on: any control character (ESC, C1 controls such as CSI, BEL, ...).
func terminalUnsafe(row string) (rune, bool) {
	for _, r := range sgr.ReplaceAllString(row, "") {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return r, true
		}
	}
	return 0, false
}

func TestMarkdownNeverPassesControlSequencesThrough(t *testing.T) {
	t.Parallel()
	hostile := []string{
		"\x1b[2J\x1b[H",                  // clear the screen
		"\x1b]0;owned\x07",               // set the window title
		"\x1b]8;;http://evil\x1b\\x",     // a hyperlink
		"\u009b31m",                      // CSI as one C1 character
		"&#27;[2J &#x1b;]0;t&#7; &#155;", // the same as character references
		"\x07\x08\x7f\r",
	}
	for _, h := range hostile {
		for _, md := range []string{
			h, "# " + h, "*" + h + "*", "`" + h + "`", "```\n" + h + "\n```", "    " + h,
			"- " + h, "> " + h, "[" + h + "](" + h + ")", "<http://x/" + h + ">",
			"| a |\n|---|\n| " + h + " |", "<div>" + h + "</div>", "a <span>" + h + "</span>",
		} {
			for _, dark := range []bool{true, false} {
				for _, r := range newMarkdownCache().render(md, 30, dark) {
					if c, bad := terminalUnsafe(r); bad {
						t.Errorf("markdown %q drew control character %U: %q", md, c, r)
					}
				}
			}
		}
	}
}

func TestMarkdownRowsAreExactlyThePaneWide(t *testing.T) {
	t.Parallel()
	md := "# A long title that will not fit\n\ntext with a `code span` and **wide 字字字 chars** " +
		"and a [link](https://example.com/a/very/long/path/indeed)\n\n- a\n  - b\n    1. c\n\n> q " +
		"> nested\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\n\tcode\twith tabs\n```\n\n---"
	c := newMarkdownCache()
	for w := 1; w <= 50; w++ {
		for i, r := range c.render(md, w, true) {
			if got := ansi.StringWidth(r); got != w {
				t.Fatalf("width %d: row %d is %d cells: %q", w, i, got, r)
			}
		}
	}
}

func TestMarkdownIsRenderedOncePerTextWidthAndBackground(t *testing.T) {
	t.Parallel()
	c := newMarkdownCache()
	a := c.render("# hi", 20, true)
	if b := c.render("# hi", 20, true); &a[0] != &b[0] {
		t.Error("the same answer at the same width was rendered again")
	}
	if b := c.render("# hi", 21, true); &a[0] == &b[0] {
		t.Error("a new width reused the old rows")
	}
	if b := c.render("# hi", 20, false); &a[0] == &b[0] {
		t.Error("a new background reused the old rows")
	}
}

func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{"# t\n\n*a* **b** `c`", "- a\n  - b\n1. c", "| a | b |\n|--|--|\n| 1 | 2 |",
		"> q\n\n```\ncode\n```", "[l](u) <http://x> ![i](p)", "\x1b[31mred\u009b &#27;", "    code\n---\n<div>x</div>"} {
		f.Add(s, 20)
	}
	f.Fuzz(func(t *testing.T, md string, width int) {
		width = 1 + int(uint(width)%120)
		for i, r := range newMarkdownCache().render(md, width, true) {
			if got := ansi.StringWidth(r); got != width {
				t.Fatalf("row %d is %d cells, want %d: %q", i, got, width, r)
			}
			if c, bad := terminalUnsafe(r); bad {
				t.Fatalf("row %d draws control character %U: %q", i, c, r)
			}
		}
	})
}
