package agents

import (
	"strings"
	"testing"
)

func TestTheAnswerOfAFallbackReplyIsDecodedAsItStreams(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, text, want string }{
		{"an answer so far", `{"answer": "Paris is the cap`, "Paris is the cap"},
		{"a whole answer, and nothing after it", `{ "answer" : "Paris.\nIt is." } trailing`, "Paris.\nIt is."},
		{"escapes", `{"answer": "say \"hi\" \u00e9 \ud83d\ude00 tab\t"}`, "say \"hi\" é 😀 tab\t"},
		{"an escape cut by the stream", `{"answer": "a\`, "a"},
		{"a tool call adds nothing", `{"tool": "read_file", "arguments": {"path": "a"}}`, ""},
		{"an object answer adds nothing", `{"answer": {"city": "Paris"}}`, ""},
		{"prose passes through", "Paris is the capital of France, and has been for a very long time now.", "Paris is the capital of France, and has been for a very long time now."},
		{"JSON without an answer is not an action", `{"city": "Paris", "country": "France", "population": 2100000, "x": 1}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Whole, and one byte a chunk (a chunk may end inside an escape or a character).
			var whole answerStream
			if got := whole.feed(tt.text); got != tt.want {
				t.Fatalf("fed whole: %q, want %q", got, tt.want)
			}
			var bytes answerStream
			var sb strings.Builder
			for i := 0; i < len(tt.text); i++ {
				sb.WriteString(bytes.feed(tt.text[i : i+1]))
			}
			if sb.String() != tt.want {
				t.Fatalf("fed a byte at a time: %q, want %q", sb.String(), tt.want)
			}
		})
	}
}

func TestAStoredReplyReadsAsWhatItSays(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"answer": "Noted."}`:                   "Noted.",
		`{"answer": "Once upon a ti`:             "Once upon a ti",
		`{"tool": "read_file", "arguments": {}}`: "",
		"Plain words.":                           "Plain words.",
		`{"answer": {"n": 1}}`:                   `{"n": 1}`,
	} {
		if got := ReplyText(in); got != want {
			t.Errorf("ReplyText(%q) = %q, want %q", in, got, want)
		}
	}
}
