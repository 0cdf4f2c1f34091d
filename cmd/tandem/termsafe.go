package main

import (
	"bytes"
	"io"
	"os"
	"unicode/utf8"
)

// stdout and stderr are what every human-readable printer writes to. Step output, model
// replies and file contents pass through them to a terminal, so they must not be able to
// move the cursor, clear the screen, set the window title or write the clipboard (OSC 52):
// termSafe drops every control character but newline and tab and every escape sequence but
// the few styles tandem itself draws. JSON output goes to os.Stdout as is: encoding/json
// escapes control characters itself.
var (
	stdout io.Writer = termSafe{os.Stdout}
	stderr io.Writer = termSafe{os.Stderr}
)

// termSafe filters one write at a time; the printers write whole formatted lines, so an
// escape sequence is never split across writes that matter.
type termSafe struct{ w io.Writer }

// ownStyles are the escape sequences tandem's printers use (bold, dim, reset).
var ownStyles = [][]byte{[]byte("\033[0m"), []byte("\033[1m"), []byte("\033[2m")}

func (t termSafe) Write(p []byte) (int, error) {
	if _, err := t.w.Write(cleanTerminal(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// cleanTerminal returns p without control characters (but \n and \t), escape sequences (but
// ownStyles) and invalid UTF-8 (each bad byte becomes U+FFFD).
func cleanTerminal(p []byte) []byte {
	if isPlainText(p) {
		return p
	}
	out := make([]byte, 0, len(p))
	for i := 0; i < len(p); {
		c := p[i]
		if c == 0x1b {
			if own := ownStyle(p[i:]); own > 0 {
				out = append(out, p[i:i+own]...)
				i += own
				continue
			}
			i += escapeLength(p[i:])
			continue
		}
		r, size := utf8.DecodeRune(p[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			out = append(out, "\uFFFD"...)
		case r == '\n' || r == '\t':
			out = append(out, byte(r))
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			// dropped
		default:
			out = append(out, p[i:i+size]...)
		}
		i += size
	}
	return out
}

// isPlainText is the fast path: printable ASCII, newlines, tabs and valid UTF-8 above C1.
func isPlainText(p []byte) bool {
	for _, c := range p {
		if (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f || c >= 0x80 {
			return c >= 0x80 && utf8.Valid(p) && !bytes.ContainsRune(p, 0x1b) && !hasC1(p)
		}
	}
	return true
}

func hasC1(p []byte) bool {
	for i := 0; i+1 < len(p); i++ {
		if p[i] == 0xc2 && p[i+1] >= 0x80 && p[i+1] < 0xa0 {
			return true
		}
	}
	return false
}

func ownStyle(p []byte) int {
	for _, s := range ownStyles {
		if bytes.HasPrefix(p, s) {
			return len(s)
		}
	}
	return 0
}

// escapeLength is the length of the escape sequence at the start of p (which starts with
// ESC): CSI up to its final byte, OSC/DCS/SOS/PM/APC up to BEL or ST, else ESC and one byte.
func escapeLength(p []byte) int {
	if len(p) < 2 {
		return len(p)
	}
	switch p[1] {
	case '[':
		for i := 2; i < len(p); i++ {
			if p[i] >= 0x40 && p[i] <= 0x7e {
				return i + 1
			}
		}
		return len(p)
	case ']', 'P', 'X', '^', '_':
		for i := 2; i < len(p); i++ {
			if p[i] == 0x07 {
				return i + 1
			}
			if p[i] == 0x1b && i+1 < len(p) && p[i+1] == '\\' {
				return i + 2
			}
		}
		return len(p)
	}
	return 2
}
