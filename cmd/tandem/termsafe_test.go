package main

import "testing"

func TestCleanTerminalDropsWhatATerminalWouldObey(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain text and UTF-8 pass", "héllo\tworld\n✓", "héllo\tworld\n✓"},
		{"a clipboard write (OSC 52) is dropped", "a\x1b]52;c;ZXZpbA==\x07b", "ab"},
		{"a window title ended by ST is dropped", "a\x1b]0;pwned\x1b\\b", "ab"},
		{"a screen clear and cursor moves are dropped", "a\x1b[2J\x1b[H\x1b[10;5Hb", "ab"},
		{"colours from data are dropped", "\x1b[31mred\x1b[0m", "red\x1b[0m"},
		{"tandem's own styles stay", "\x1b[1mbold\x1b[0m \x1b[2mdim\x1b[0m", "\x1b[1mbold\x1b[0m \x1b[2mdim\x1b[0m"},
		{"C0 controls but newline and tab are dropped", "a\rb\bc\x07d\x00e", "abcde"},
		{"C1 controls are dropped", "a\u009b2Jb\u0085c", "a2Jbc"},
		{"a DCS string is dropped", "a\x1bPq#0;2;0;0;0\x1b\\b", "ab"},
		{"invalid UTF-8 becomes a replacement character", "a\x9b2Jb", "a\uFFFD2Jb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(cleanTerminal([]byte(tt.in))); got != tt.want {
				t.Errorf("cleanTerminal(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzCleanTerminal(f *testing.F) {
	f.Add([]byte("a\x1b]52;c;x\x07b\x1b[2J\u009b"))
	f.Fuzz(func(t *testing.T, p []byte) {
		out := cleanTerminal(p)
		for i, c := range out {
			if c < 0x20 && c != '\n' && c != '\t' && !(c == 0x1b && ownStyle(out[i:]) > 0) {
				t.Fatalf("control byte %#x left in %q", c, out)
			}
		}
	})
}
