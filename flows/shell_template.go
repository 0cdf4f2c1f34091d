package flows

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
)

// A shell: command is a template whose values are data. RenderShell escapes every {{ }} value
// for the shell context it lands in, the way html/template escapes by HTML context: a bare word
// is single-quoted, text inside "..." gets backslashes before $ ` " \, text inside '...' closes
// and reopens the quotes, a # comment loses its newlines, a here-document body is escaped for
// its kind. A value therefore reaches the command literally, whatever it contains: ; $() ``
// quotes, newlines and globs included. {{ raw x }} opts out; quote's output is already a word.

// rawShell is text a template author asked to splice into a shell command unescaped.
type rawShell string

// shellWord is text that is already one quoted shell word (the output of quote).
type shellWord string

// Frame kinds of the shell scanner's stack; the base (empty stack) is an unquoted word context.
const (
	frameSubst     = 'c' // $( ... )
	frameParen     = 'p' // ( ... ) subshell or grouping
	frameArith     = 'm' // $(( ... )) or (( ... )): arithmetic, where << is a shift
	frameBacktick  = 'b' // ` ... `
	frameSingle    = 's' // ' ... '
	frameDouble    = 'd' // " ... "
	frameANSI      = 'a' // $' ... '
	frameComment   = '#' // # ... to the end of the line
	frameHeredoc   = 'h' // a here-document body
	frameDelimiter = 'r' // reading a here-document's delimiter word after <<
)

// shellState is where a shell command's text has got to. It is comparable, so the contexts
// at the ends of a template's branches can be checked for equality.
type shellState struct {
	stack     string // frame kinds, innermost last
	escaped   bool   // the previous character was a backslash that quotes this one
	wordStart bool   // the next character starts a word (so # starts a comment)
	lt        int    // consecutive '<' seen in a word context
	ambiguous bool   // a bash-only (( )) was seen: each sh reads what follows differently
	// Here-documents: pending ones start at the next newline, in order.
	pending  string // "\x00"-separated "q" or "u" (quoted) + "-" or " " (strip tabs) + delimiter
	delim    string // the body being read: its delimiter
	quotedHD bool   // the body is quoted (<<'EOF'): nothing in it is expanded
	stripHD  bool   // <<- : leading tabs are stripped before comparing with the delimiter
	line     string // the body's current line so far, or "\x01" once a value was spliced in
	word     string // the delimiter word being read
	wordQ    bool   // the delimiter word contained quotes
	wordStr  bool   // <<- was seen for the word being read
}

func (s shellState) top() byte {
	if s.stack == "" {
		return 0
	}
	return s.stack[len(s.stack)-1]
}

func (s *shellState) push(f byte) { s.stack += string(f) }
func (s *shellState) pop()        { s.stack = s.stack[:len(s.stack)-1] }

// inWords reports whether the innermost context is unquoted shell words.
func (s shellState) inWords() bool {
	switch s.top() {
	case 0, frameSubst, frameParen, frameBacktick, frameArith:
		return true
	}
	return false
}

// scan advances the state over literal command text.
func (s *shellState) scan(text string) error {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if s.top() == frameHeredoc {
			s.heredocChar(c)
			continue
		}
		if s.top() == frameDelimiter {
			if done := s.delimiterChar(c); !done {
				continue
			}
		}
		if s.escaped {
			s.escaped = false
			s.wordStart = false
			continue
		}
		switch s.top() {
		case frameSingle:
			if c == '\'' {
				s.pop()
			}
			continue
		case frameANSI:
			switch c {
			case '\\':
				s.escaped = true
			case '\'':
				s.pop()
			}
			continue
		case frameComment:
			if c == '\n' {
				s.pop()
				s.newline()
			}
			continue
		case frameDouble:
			switch c {
			case '\\':
				s.escaped = true
			case '"':
				s.pop()
			case '`':
				s.push(frameBacktick)
				s.wordStart = true
			case '$':
				if i+1 < len(text) && text[i+1] == '(' {
					i++
					s.push(frameSubst)
					s.wordStart = true
				}
			}
			continue
		}
		// An unquoted word context.
		if s.top() == frameArith {
			switch {
			case c == ')' && i+1 < len(text) && text[i+1] == ')':
				i++
				s.pop()
			case c == '(':
				s.push(frameParen)
			case c == '\'':
				s.push(frameSingle)
			case c == '"':
				s.push(frameDouble)
			case c == '$' && i+1 < len(text) && text[i+1] == '(':
				i++
				s.push(frameSubst)
			}
			continue // no words, comments or here-documents in arithmetic
		}
		if c != '<' {
			if s.lt >= 2 {
				s.startDelimiter(c == '-')
				s.lt = 0
				if c == '-' {
					continue
				}
				i-- // read this character as part of the delimiter
				continue
			}
			s.lt = 0
		}
		start := s.wordStart
		s.wordStart = false
		switch c {
		case '\\':
			s.escaped = true
		case '\'':
			s.push(frameSingle)
		case '"':
			s.push(frameDouble)
		case '`':
			if s.top() == frameBacktick {
				s.pop()
			} else {
				s.push(frameBacktick)
				s.wordStart = true
			}
		case '$':
			if i+2 < len(text) && text[i+1] == '(' && text[i+2] == '(' {
				i += 2
				s.push(frameArith)
				break
			}
			if i+1 < len(text) {
				switch text[i+1] {
				case '(':
					i++
					s.push(frameSubst)
					s.wordStart = true
				case '\'':
					i++
					s.push(frameANSI)
				}
			}
		case '(':
			if start && i+1 < len(text) && text[i+1] == '(' {
				// bash reads (( )) as arithmetic, dash as two subshells where << starts a
				// here-document: what follows cannot be escaped for both.
				s.ambiguous = true
			}
			s.push(frameParen)
			s.wordStart = true
		case ')':
			if t := s.top(); t == frameSubst || t == frameParen {
				s.pop()
			}
			s.wordStart = true
		case '#':
			if start {
				s.push(frameComment)
			}
		case '<':
			s.lt++
			if s.lt == 3 { // <<< is a here-string: an ordinary word follows
				s.lt = -1
			}
		case '\n':
			s.newline()
		case ' ', '\t', ';', '&', '|', '>':
			s.wordStart = true
		}
		if s.lt < 0 {
			s.lt = 0
		}
	}
	return nil
}

// newline ends a line in a word context: a pending here-document's body starts here.
func (s *shellState) newline() {
	s.wordStart = true
	if s.pending == "" || !s.inWords() {
		return
	}
	next, rest, _ := strings.Cut(s.pending, "\x00")
	s.pending = rest
	s.quotedHD, s.stripHD, s.delim = next[0] == 'q', next[1] == '-', next[2:]
	s.line = ""
	s.push(frameHeredoc)
}

func (s *shellState) heredocChar(c byte) {
	if c != '\n' {
		if s.line != "\x01" {
			s.line += string(c)
		}
		return
	}
	line := s.line
	if s.stripHD {
		line = strings.TrimLeft(line, "\t")
	}
	s.line = ""
	if line == s.delim {
		s.pop()
		s.newline() // the next pending here-document, if any
	}
}

func (s *shellState) startDelimiter(strip bool) {
	s.push(frameDelimiter)
	s.word, s.wordQ, s.wordStr = "", false, strip
}

// delimiterChar reads one character of a here-document delimiter; it reports true when the
// word has ended and c must be read as ordinary text.
func (s *shellState) delimiterChar(c byte) bool {
	switch c {
	case ' ', '\t':
		if s.word == "" && !s.wordQ {
			return false // blanks before the word
		}
	case '\'', '"', '\\':
		s.wordQ = true
		return false
	}
	if strings.IndexByte(" \t\n;&|<>()", c) < 0 {
		s.word += string(c)
		return false
	}
	s.pop()
	mode := "u"
	if s.wordQ {
		mode = "q"
	}
	strip := " "
	if s.wordStr {
		strip = "-"
	}
	entry := mode + strip + s.word
	if s.pending == "" {
		s.pending = entry
	} else {
		s.pending += "\x00" + entry
	}
	s.wordStart = true
	return true
}

// escaper names the function that escapes a value for the state's context, with the
// arguments it takes before the value.
func (s shellState) escaper() (string, []parse.Node, error) {
	if s.lt >= 2 {
		return "", nil, fmt.Errorf("a value cannot be a here-document delimiter")
	}
	if s.ambiguous {
		return "", nil, fmt.Errorf("a value cannot follow (( )), which bash reads as arithmetic and sh as subshells; use $(( )) or [ ]")
	}
	switch s.top() {
	case 0, frameSubst, frameParen, frameArith:
		return "_shell_word", nil, nil
	case frameBacktick:
		return "_shell_backtick", nil, nil
	case frameSingle:
		return "_shell_single", nil, nil
	case frameDouble:
		return "_shell_double", nil, nil
	case frameANSI:
		// dash reads $'...' as $ and a single-quoted string, bash as ANSI-C quoting: no
		// escaping is literal in both.
		return "", nil, fmt.Errorf("a value cannot go inside $'...', which each sh reads differently; use '...' or \"...\"")
	case frameComment:
		return "_shell_comment", nil, nil
	case frameHeredoc:
		return "_shell_heredoc", []parse.Node{
			&parse.StringNode{NodeType: parse.NodeString, Quoted: strconv.Quote(s.delim), Text: s.delim},
			&parse.BoolNode{NodeType: parse.NodeBool, True: s.quotedHD},
		}, nil
	}
	return "", nil, fmt.Errorf("a value cannot be part of a here-document delimiter")
}

// shellFuncs escape a value for one shell context; they are appended to every action of a
// shell: template.
var shellFuncs = template.FuncMap{
	"quote": func(v any) any {
		if s, ok := v.(SecretRef); ok {
			return s // quoted as a reference to its variable
		}
		return shellWord(shellQuote(valueText(v)))
	},
	"_shell_word":     func(v any) string { return escapeWord(v, quoteWord) },
	"_shell_backtick": func(v any) string { return escapeWord(v, backtickWord) },
	"_shell_single": func(v any) string {
		if s, ok := v.(SecretRef); ok {
			return `'"` + s.envRef() + `"'`
		}
		return passRaw(v, func(s string) string { return strings.ReplaceAll(s, "'", `'\''`) })
	},
	"_shell_double": func(v any) string {
		if s, ok := v.(SecretRef); ok {
			return s.envRef()
		}
		return passRaw(v, doubleQuoted.Replace)
	},
	"_shell_comment": func(v any) string {
		return passRaw(v, func(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) })
	},
	"_shell_heredoc": func(delim string, quoted bool, v any) (string, error) {
		switch x := v.(type) {
		case rawShell:
			return string(x), nil
		case SecretRef:
			if quoted {
				return "", fmt.Errorf("secret input %s cannot go in a quoted here-document, where nothing expands; use <<EOF", x.Name)
			}
			return x.envRef(), nil
		}
		s := valueText(v)
		for _, line := range strings.Split(s, "\n") {
			if strings.TrimLeft(line, "\t") == delim {
				return "", fmt.Errorf("a value has a line %q that would end the here-document", delim)
			}
		}
		if quoted {
			return s, nil
		}
		return heredocQuoted.Replace(s), nil
	},
}

var (
	doubleQuoted  = strings.NewReplacer(`\`, `\\`, `$`, `\$`, "`", "\\`", `"`, `\"`)
	heredocQuoted = strings.NewReplacer(`\`, `\\`, `$`, `\$`, "`", "\\`")
	backtickInner = strings.NewReplacer(`\`, `\\`, "`", "\\`", `$`, `\$`)
)

// valueText prints a value the way text/template would, with nil as the empty string.
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case rawShell:
		return string(x)
	case shellWord:
		return string(x)
	case SecretRef:
		return Redacted
	}
	return fmt.Sprint(v)
}

func passRaw(v any, escape func(string) string) string {
	if r, ok := v.(rawShell); ok {
		return string(r)
	}
	return escape(valueText(v))
}

func escapeWord(v any, quoteFn func(string) string) string {
	switch x := v.(type) {
	case rawShell:
		return string(x)
	case shellWord:
		return quoteFn(string(x)) // quote's word, kept as the author wrote it
	case SecretRef:
		return quoteFn(`"` + x.envRef() + `"`)
	}
	s := valueText(v)
	if isPlainWord(s) {
		return s
	}
	return quoteFn(shellQuote(s))
}

func quoteWord(q string) string { return q }

// backtickWord protects a quoted word inside `...`, where the shell first ends the
// substitution at the next backquote and removes one level of backslashes.
func backtickWord(q string) string { return backtickInner.Replace(q) }

// shellQuote is POSIX single-quoting: one word, nothing inside expanded.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// isPlainWord reports whether s is a non-empty word the shell reads literally as it is.
func isPlainWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("_@%+:,./-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// RenderShell renders a shell: command, escaping every value for the shell context it lands
// in (see the top of this file). A missing key is an error, as in Render.
func RenderShell(text string, data map[string]any) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	return execute(text, data, compileShellTemplate)
}

var shellTemplateCache sync.Map // template text -> *template.Template

func compileShellTemplate(text string) (*template.Template, error) {
	if t, ok := shellTemplateCache.Load(text); ok {
		return t.(*template.Template), nil
	}
	t, err := template.New("t").Option("missingkey=error").Funcs(funcs).Funcs(shellFuncs).Parse(text)
	if err != nil {
		return nil, err
	}
	if _, err := escapeShellList(t.Tree.Root, shellState{wordStart: true}); err != nil {
		return nil, err
	}
	shellTemplateCache.Store(text, t)
	return t, nil
}

// escapeShellList walks a template list in order, appending the right escaper to each action
// and returning the shell state after it.
func escapeShellList(list *parse.ListNode, st shellState) (shellState, error) {
	if list == nil {
		return st, nil
	}
	for _, n := range list.Nodes {
		var err error
		switch x := n.(type) {
		case *parse.TextNode:
			err = st.scan(string(x.Text))
		case *parse.ActionNode:
			if len(x.Pipe.Decl) > 0 {
				continue // {{ $x := ... }} prints nothing
			}
			name, args, eerr := st.escaper()
			if eerr != nil {
				return st, eerr
			}
			cmd := &parse.CommandNode{NodeType: parse.NodeCommand, Args: append([]parse.Node{parse.NewIdentifier(name)}, args...)}
			x.Pipe.Cmds = append(x.Pipe.Cmds, cmd)
			st.wordStart, st.escaped, st.lt = false, false, 0
			if st.top() == frameHeredoc {
				st.line = "\x01"
			}
		case *parse.IfNode:
			st, err = escapeShellBranches("if", x.List, x.ElseList, st)
		case *parse.RangeNode:
			st, err = escapeShellLoop("range", x.List, x.ElseList, st)
		case *parse.WithNode:
			st, err = escapeShellBranches("with", x.List, x.ElseList, st)
		case *parse.CommentNode:
		default:
			return st, fmt.Errorf("%s is not supported in shell: commands", n)
		}
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// escapeShellBranches requires both branches of an if or with to end in the same context, as
// html/template does: otherwise the text after them could not be escaped safely.
func escapeShellBranches(what string, then, els *parse.ListNode, st shellState) (shellState, error) {
	a, err := escapeShellList(then, st)
	if err != nil {
		return st, err
	}
	b, err := escapeShellList(els, st)
	if err != nil {
		return st, err
	}
	if a != b {
		return st, fmt.Errorf("the branches of {{%s}} end in different shell quoting; close every quote inside each branch", what)
	}
	return a, nil
}

// escapeShellLoop requires a range body to end where it started, so every pass is escaped
// the same way.
func escapeShellLoop(what string, body, els *parse.ListNode, st shellState) (shellState, error) {
	a, err := escapeShellList(body, st)
	if err != nil {
		return st, err
	}
	if a != st {
		return st, fmt.Errorf("the body of {{%s}} changes the shell quoting; close every quote inside it", what)
	}
	return escapeShellBranches(what, nil, els, st)
}

// shellTemplate reports a shell: command whose quoting cannot be followed, and warns
// where raw splices data from inputs, steps or map items into the command unescaped.
func (c *refChecker) shellTemplate(text string) {
	if !strings.Contains(text, "{{") {
		c.shellClosed(text)
		return
	}
	if _, err := compileTemplate(text); err != nil {
		return // reported by the reference check, once
	}
	if _, err := compileShellTemplate(text); err != nil {
		c.r.at(c.at(), "%s: shell command %q: %s", c.where(), text, cleanTemplateErr(err))
		return
	}
	c.shellClosed(text)
	t, err := compileTemplate(text)
	if err != nil {
		return // reported by the reference check
	}
	for _, ref := range rawRefs(t.Tree.Root) {
		c.r.warn(c.refAt(ref, "."), "%s splices .%s into its shell command with raw: the value runs as shell code (drop raw to pass it as data)", c.where(), strings.Join(ref, "."))
	}
}

// shellClosed reports a shell: command that ends inside a quote, a $( ) or a subshell, which
// every sh refuses with a syntax error when the step runs. The usual cause is YAML: an
// unquoted value ends at " #", so `shell: echo "a #b"` is the command `echo "a`.
func (c *refChecker) shellClosed(text string) {
	st, err := shellEndState(text)
	if err != nil || st.stack == "" {
		return
	}
	open, ok := openFrameNames[st.stack[0]]
	if !ok {
		return // a comment or a here-document may run to the end
	}
	at, hint := c.at(), ""
	if k := c.cur.key; c.cur.val.Line > 0 && k.Line >= 1 && k.Line <= len(c.src) {
		at = k // the shell: key, whose line shows where YAML cut the value
		if line := c.src[k.Line-1]; k.Col-1 <= len(line) && strings.Contains(line[k.Col-1:], " #") {
			hint = `; in YAML an unquoted value ends at " #": quote the whole value or write it as a block (shell: |)`
		}
	}
	c.r.at(at, "%s: shell command %q ends inside %s that is never closed%s", c.where(), clip(text), open, hint)
}

// openFrameNames names the frames a command cannot end inside.
var openFrameNames = map[byte]string{
	frameDouble: `"..."`, frameSingle: `'...'`, frameANSI: `$'...'`, frameBacktick: "`...`",
	frameSubst: "$( ... )", frameParen: "( ... )", frameArith: "$(( ... ))",
}

// shellEndState is the shell state at the end of a command (a template's literal text with
// every value counted as one word or quoted piece).
func shellEndState(text string) (shellState, error) {
	st := shellState{wordStart: true}
	if !strings.Contains(text, "{{") {
		err := st.scan(text)
		return st, err
	}
	t, err := template.New("t").Funcs(funcs).Funcs(shellFuncs).Parse(text)
	if err != nil {
		return st, err
	}
	return escapeShellList(t.Tree.Root, st)
}

// rawRefs lists the data references of every pipeline in the tree that calls raw.
func rawRefs(root *parse.ListNode) [][]string {
	var out [][]string
	var pipe func(p *parse.PipeNode)
	var list func(l *parse.ListNode)
	pipe = func(p *parse.PipeNode) {
		if p == nil {
			return
		}
		calls := false
		var refs [][]string
		var arg func(n parse.Node)
		arg = func(n parse.Node) {
			switch x := n.(type) {
			case *parse.IdentifierNode:
				calls = calls || x.Ident == "raw"
			case *parse.FieldNode:
				refs = append(refs, x.Ident)
			case *parse.ChainNode:
				arg(x.Node)
			case *parse.PipeNode: // a raw anywhere in the action taints all it reads
				for _, c := range x.Cmds {
					for _, a := range c.Args {
						arg(a)
					}
				}
			}
		}
		for _, c := range p.Cmds {
			for _, a := range c.Args {
				arg(a)
			}
		}
		if !calls {
			return
		}
		for _, r := range refs {
			switch r[0] {
			case "inputs", "steps", "item", "index":
				out = append(out, r)
			}
		}
	}
	list = func(l *parse.ListNode) {
		if l == nil {
			return
		}
		for _, n := range l.Nodes {
			switch x := n.(type) {
			case *parse.ActionNode:
				pipe(x.Pipe)
			case *parse.IfNode:
				list(x.List)
				list(x.ElseList)
			case *parse.RangeNode:
				list(x.List)
				list(x.ElseList)
			case *parse.WithNode:
				list(x.List)
				list(x.ElseList)
			}
		}
	}
	list(root)
	return out
}
