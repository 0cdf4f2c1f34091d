package flows

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
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

// CompileSchema compiles a JSON schema given as plain values. Only the document itself is
// read: a $ref to a file or a URL is an error, so a schema in a flow cannot make tandem read
// local files or reach the network. Compiled schemas are cached by their JSON text.
func CompileSchema(schema map[string]any) (*jsonschema.Schema, error) {
	// Round-trip through JSON so numbers have the types the compiler expects.
	b, err := json.Marshal(schema)
	if err != nil {
		return nil, err
	}
	if s, ok := schemaCache.Load(string(b)); ok {
		return s.(*jsonschema.Schema), nil
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, err
	}
	compiled, err := c.Compile(schemaURL)
	if err != nil {
		return nil, err
	}
	schemaCache.Store(string(b), compiled)
	return compiled, nil
}

// schemaURL names the one document a schema compiler may read.
const schemaURL = "file:///tandem/schema.json"

var schemaCache sync.Map // JSON text -> *jsonschema.Schema

// noLoader refuses every external resource a schema refers to.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("$ref %s: a schema may only refer to itself (#/...), not to files or URLs", url)
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
