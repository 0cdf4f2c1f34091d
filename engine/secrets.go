package engine

import (
	"os"
	"strings"
	"sync"

	"tandem/flows"
)

// secretBox holds the values of secret inputs for the runs this process started. They are
// never written to the log; a process that resumes a run it did not start gets them from
// its environment ($TANDEM_SECRET_NAME).
type secretBox struct {
	mu   sync.Mutex
	runs map[string]map[string]string
}

func (b *secretBox) put(runID string, values map[string]string) {
	if len(values) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.runs == nil {
		b.runs = map[string]map[string]string{}
	}
	b.runs[runID] = values
}

// value is a run's secret input, from this process's memory or else its environment.
func (b *secretBox) value(runID, name string) string {
	b.mu.Lock()
	v, ok := b.runs[runID][name]
	b.mu.Unlock()
	if ok {
		return v
	}
	return os.Getenv(flows.SecretEnv(name))
}

// redactSecrets splits a run's inputs into what the log may hold (secret values replaced by
// flows.Redacted) and the secret values.
func redactSecrets(f *flows.Flow, inputs map[string]any) (map[string]any, map[string]string) {
	var secrets map[string]string
	logged := inputs
	for _, in := range f.Inputs {
		v, ok := inputs[in.Name]
		if !in.Secret || !ok {
			continue
		}
		if secrets == nil {
			secrets = map[string]string{}
			logged = make(map[string]any, len(inputs))
			for k, x := range inputs {
				logged[k] = x
			}
		}
		s, _ := v.(string)
		secrets[in.Name] = s
		logged[in.Name] = flows.Redacted
	}
	return logged, secrets
}

// secretInputs replaces a run's secret inputs in template data by references that carry the
// value in memory only.
func (r *runner) secretInputs(inputs map[string]any) map[string]any {
	out := inputs
	copied := false
	for _, in := range r.flow.Inputs {
		if !in.Secret {
			continue
		}
		if !copied {
			out = make(map[string]any, len(inputs))
			for k, v := range inputs {
				out[k] = v
			}
			copied = true
		}
		out[in.Name] = flows.NewSecretRef(in.Name, r.e.secrets.value(r.runID, in.Name))
	}
	return out
}

// stepSecrets lists the secret references in a step's template data.
func stepSecrets(data map[string]any) []flows.SecretRef {
	inputs, _ := data["inputs"].(map[string]any)
	var out []flows.SecretRef
	for _, v := range inputs {
		if s, ok := v.(flows.SecretRef); ok {
			out = append(out, s)
		}
	}
	return out
}

// masker replaces secret values in text a step produced, so an `echo $TANDEM_SECRET_X`
// shows flows.Redacted in the log, the trace and the workbench.
func masker(secrets []flows.SecretRef) func(string) string {
	var pairs []string
	for _, s := range secrets {
		// A one- or two-character secret would mask ordinary text; it is no secret anyway.
		if v := s.Value(); len(v) >= 3 {
			pairs = append(pairs, v, flows.Redacted)
		}
	}
	if len(pairs) == 0 {
		return func(s string) string { return s }
	}
	return strings.NewReplacer(pairs...).Replace
}

// revealSecrets is template data with secret references replaced by their values, for
// templates whose result is never logged (a step's env: entries).
func revealSecrets(data map[string]any) map[string]any {
	secrets := stepSecrets(data)
	if len(secrets) == 0 {
		return data
	}
	inputs := map[string]any{}
	for k, v := range data["inputs"].(map[string]any) {
		inputs[k] = v
	}
	for _, s := range secrets {
		inputs[s.Name] = s.Value()
	}
	out := make(map[string]any, len(data))
	for k, v := range data {
		out[k] = v
	}
	out["inputs"] = inputs
	return out
}
