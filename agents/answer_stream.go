package agents

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// answerStream decodes a fallback reply's answer while its JSON streams, so viewers show the
// answer as it is written without parsing actions themselves: fed the reply's chunks, it
// returns the answer text each one adds. A reply that is a tool call, or an answer that is
// not a JSON string (an object an output schema asks for), adds nothing; a reply that is no
// JSON at all (an invalid action, but what the model said) passes through as it is.
type answerStream struct {
	buf strings.Builder
	// 0: undecided, 1: inside the answer string, 2: the answer is complete, 3: no answer (a
	// tool call, or JSON that is no answer), 4: prose, which is shown as it is
	state uint8
	pos   int // in the answer state: where the undecoded rest of buf starts
}

var (
	answerStringStart = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\s*\{\s*"answer"\s*:\s*"`) })
	answerOtherStart  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\s*\{\s*"answer"\s*:\s*[^\s"]`) })
	toolActionStart   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\s*\{\s*"tool"\s*:`) })
)

// undecidedLimit is how much of a reply is read before one that starts like no action is
// given up on.
const undecidedLimit = 64

// feed takes the next chunk of the reply and returns the answer text it adds.
func (a *answerStream) feed(chunk string) string {
	switch a.state {
	case 2, 3:
		return ""
	case 4:
		return chunk
	}
	a.buf.WriteString(chunk)
	s := a.buf.String()
	if a.state == 0 {
		t := strings.TrimLeft(s, " \t\r\n")
		switch loc := answerStringStart().FindStringIndex(s); {
		case t != "" && t[0] != '{':
			a.state = 4 // prose, not an action: what it says is what it says
			return s
		case loc != nil:
			a.state, a.pos = 1, loc[1]
		case toolActionStart().MatchString(s), answerOtherStart().MatchString(s), len(s) > undecidedLimit:
			a.state = 3
			return ""
		default:
			return ""
		}
	}
	var out strings.Builder
	rest := s[a.pos:]
	i := 0
	for i < len(rest) {
		c := rest[i]
		switch {
		case c == '"':
			a.state = 2
			a.pos += i + 1
			return out.String()
		case c == '\\':
			if i+1 >= len(rest) {
				a.pos += i
				return out.String() // the escape is cut: the next chunk completes it
			}
			switch e := rest[i+1]; e {
			case 'n':
				out.WriteByte('\n')
			case 't':
				out.WriteByte('\t')
			case 'r':
				out.WriteByte('\r')
			case 'b', 'f':
			case 'u':
				if i+6 > len(rest) {
					a.pos += i
					return out.String()
				}
				r, err := strconv.ParseUint(rest[i+2:i+6], 16, 32)
				if err != nil {
					out.WriteString(rest[i : i+6])
					i += 6
					continue
				}
				if utf16.IsSurrogate(rune(r)) {
					if i+12 > len(rest) {
						a.pos += i
						return out.String() // the pair's second half is still to come
					}
					if lo, err := strconv.ParseUint(rest[i+8:i+12], 16, 32); err == nil && rest[i+6:i+8] == `\u` {
						out.WriteRune(utf16.DecodeRune(rune(r), rune(lo)))
						i += 12
						continue
					}
				}
				out.WriteRune(rune(r))
				i += 6
				continue
			default:
				out.WriteByte(e)
			}
			i += 2
		default:
			if c >= utf8.RuneSelf && !utf8.FullRuneInString(rest[i:]) {
				a.pos += i
				return out.String() // a character cut between chunks
			}
			out.WriteByte(c)
			i++
		}
	}
	a.pos += i
	return out.String()
}

// ReplyText is what a stored reply says to a person. A fallback reply is a JSON action: an
// answer reads as its text (as far as it got, for a reply stopped midway), a tool call as
// nothing, since the call is shown as a call. Any other reply reads as it is.
func ReplyText(content string) string {
	if act, err := parseAction(content); err == nil {
		if act.Answer == nil {
			return ""
		}
		return answerText(act.Answer)
	}
	var a answerStream
	text := a.feed(content)
	switch {
	case a.state == 1 || a.state == 2 || a.state == 4:
		return text
	case toolActionStart().MatchString(content):
		return ""
	}
	return content
}
