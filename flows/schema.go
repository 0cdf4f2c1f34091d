package flows

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// parseSchema reads a JSON schema written in YAML and checks that it compiles.
func parseSchema(r *reporter, n *yaml.Node) map[string]any {
	m, ok := r.value(n, "schema").(map[string]any)
	if !ok {
		r.at(pos(n), "schema must be a JSON schema object ({type: object, properties: {...}})")
		return nil
	}
	if _, err := CompileSchema(m); err != nil {
		r.at(pos(n), "schema is not a valid JSON schema: %s", oneLine(err.Error()))
	}
	return m
}

// CompileSchema compiles a JSON schema given as plain values.
func CompileSchema(schema map[string]any) (*jsonschema.Schema, error) {
	// Round-trip through JSON so numbers have the types the compiler expects.
	b, err := json.Marshal(schema)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("schema.json")
}

// ValidateJSON checks a JSON text against a schema and says what is wrong.
func ValidateJSON(schema map[string]any, text string) error {
	s, err := CompileSchema(schema)
	if err != nil {
		return fmt.Errorf("compile schema: %w", err)
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("does not match the schema: %s", oneLine(err.Error()))
	}
	return nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
