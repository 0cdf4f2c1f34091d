package flows

import "strings"

// Redacted is what a secret input's value is replaced with wherever it would be written or
// shown: the run's log, a prompt, a step's output.
const Redacted = "[secret]"

// SecretEnv is the environment variable that carries secret input name to a step, and that
// supplies its value to a process that resumes a run (the log never holds it).
func SecretEnv(name string) string {
	return "TANDEM_SECRET_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// SecretRef stands for a secret input in template data. A shell: command renders it as a
// reference to its variable ("${TANDEM_SECRET_TOKEN}"), which the shell expands when the step
// runs, so the rendered command, which is logged, never holds the value; every other
// template renders Redacted.
type SecretRef struct {
	Name  string
	value string
}

// NewSecretRef returns a reference to input name whose value (possibly "" when this process
// does not know it) travels with the template data in memory only.
func NewSecretRef(name, value string) SecretRef { return SecretRef{Name: name, value: value} }

// String renders the reference outside shell commands.
func (s SecretRef) String() string { return Redacted }

// Value is the secret itself, for the step's environment; "" when this process lacks it.
func (s SecretRef) Value() string { return s.value }

// MarshalJSON keeps the value out of anything that serialises template data.
func (s SecretRef) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// envRef is the shell expansion of the secret's variable.
func (s SecretRef) envRef() string { return "${" + SecretEnv(s.Name) + "}" }
