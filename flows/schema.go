package flows

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/google/jsonschema-go/jsonschema"
	"go.yaml.in/yaml/v3"
)

// Schemas are JSON Schema (draft 2020-12, or draft-07 when the schema says so) through
// github.com/google/jsonschema-go, which the MCP client links in anyway. Its package init is
// a fraction of a millisecond; the library used before compiled every meta-schema at init,
// about 7 ms on every start of every command.

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

// Schema is a compiled JSON schema, ready to validate values.
type Schema = jsonschema.Resolved

// CompileSchema compiles a JSON schema given as plain values. Only the document itself is
// read: a $ref to a file or a URL is an error, so a schema in a flow cannot make tandem read
// local files or reach the network. Compiled schemas are cached by their JSON text.
func CompileSchema(schema map[string]any) (*Schema, error) {
	// Round-trip through JSON: the schema's own decoder checks each keyword's type.
	b, err := json.Marshal(schema)
	if err != nil {
		return nil, err
	}
	if s, ok := schemaCache.Load(string(b)); ok {
		return s.(*Schema), nil
	}
	if err := checkTypes(schema); err != nil {
		return nil, err
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(b, &s); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			key := te.Field[strings.LastIndexByte(te.Field, '.')+1:]
			return nil, fmt.Errorf("%q must not be a %s", key, te.Value)
		}
		return nil, err
	}
	compiled, err := s.Resolve(&jsonschema.ResolveOptions{BaseURI: schemaURL, Loader: noLoader})
	if err != nil {
		var refused refusedRef
		if errors.As(err, &refused) {
			return nil, refused
		}
		msg := strings.TrimPrefix(err.Error(), "jsonschema.Schema: ")
		return nil, errors.New(strings.TrimPrefix(msg, "<anonymous schema>: "))
	}
	schemaCache.Store(string(b), compiled)
	return compiled, nil
}

// schemaURL names the one document a schema may refer to.
const schemaURL = "file:///tandem/schema.json"

var schemaCache sync.Map // JSON text -> *Schema

// refusedRef is the error for a $ref outside the schema's own document.
type refusedRef struct{ url string }

func (e refusedRef) Error() string {
	return fmt.Sprintf("$ref %s: a schema may only refer to itself (#/...), not to files or URLs", e.url)
}

// noLoader refuses every external resource a schema refers to.
func noLoader(u *url.URL) (*jsonschema.Schema, error) {
	return nil, refusedRef{url: u.String()}
}

// jsonTypes are the names "type" may give.
var jsonTypes = map[string]bool{"null": true, "boolean": true, "object": true, "array": true, "number": true, "string": true, "integer": true}

// checkTypes reports a "type" that names no JSON type anywhere in a schema, which the
// library would accept and then match nothing against. Values given as data (enum, const,
// default, examples) are not schemas and are not looked into.
func checkTypes(v any) error {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			switch k {
			case "enum", "const", "default", "examples":
				continue
			case "type":
				names, _ := x.([]any)
				if s, ok := x.(string); ok {
					names = []any{s}
				}
				for _, n := range names {
					if s, ok := n.(string); ok && !jsonTypes[s] {
						return fmt.Errorf("type %q is not a JSON type (null, boolean, object, array, number, string, integer)", s)
					}
				}
			}
			if err := checkTypes(x); err != nil {
				return err
			}
		}
	case []any:
		for _, x := range v {
			if err := checkTypes(x); err != nil {
				return err
			}
		}
	}
	return nil
}

// ValidateJSON checks a JSON text against a schema and says what is wrong.
func ValidateJSON(schema map[string]any, text string) error {
	s, err := CompileSchema(schema)
	if err != nil {
		return fmt.Errorf("compile schema: %w", err)
	}
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("does not match the schema: %s", oneLine(strings.TrimPrefix(err.Error(), "validating root: ")))
	}
	return nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
