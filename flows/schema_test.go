package flows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestASchemaCannotReadLocalFilesOrTheNetwork(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.json")
	if err := os.WriteFile(secret, []byte(`{"type":"string","description":"the secret"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"file://" + secret, secret, "http://169.254.169.254/schema.json", "other.json"} {
		_, err := CompileSchema(map[string]any{"type": "object", "properties": map[string]any{"x": map[string]any{"$ref": ref}}})
		if err == nil || !strings.Contains(err.Error(), "may only refer to itself") {
			t.Errorf("$ref %s: err = %v, want a refusal", ref, err)
		}
	}
	local := map[string]any{"type": "object", "$defs": map[string]any{"n": map[string]any{"type": "integer"}},
		"properties": map[string]any{"x": map[string]any{"$ref": "#/$defs/n"}}}
	if err := ValidateJSON(local, `{"x": 3}`); err != nil {
		t.Errorf("a $ref inside the document: %v", err)
	}
	if err := ValidateJSON(local, `{"x": "three"}`); err == nil {
		t.Error("a $ref inside the document was not applied")
	}
}

func TestASchemaThatIsNotValidIsRefusedWithTheReason(t *testing.T) {
	for _, c := range []struct {
		name   string
		schema map[string]any
		want   string
	}{
		{"a type that is no JSON type", map[string]any{"type": "strin"}, `type "strin" is not a JSON type`},
		{"a nested type that is no JSON type", map[string]any{"type": "object", "properties": map[string]any{"n": map[string]any{"type": []any{"integer", "nmber"}}}}, `type "nmber"`},
		{"required that is not a list", map[string]any{"required": "x"}, `"required" must not be a string`},
		{"a minimum that is not a number", map[string]any{"minimum": "a"}, `"minimum" must not be a string`},
		{"a pattern that does not compile", map[string]any{"pattern": "("}, "pattern: error parsing regexp"},
		{"a $ref to nowhere in the document", map[string]any{"$ref": "#/nowhere"}, "nowhere"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := CompileSchema(c.schema)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
	// Data is not a schema: an enum value may hold any "type".
	if _, err := CompileSchema(map[string]any{"enum": []any{map[string]any{"type": "anything"}}}); err != nil {
		t.Errorf("an enum of objects with a type key: %v", err)
	}
	src := "name: f\nsteps:\n  - id: a\n    llm: m\n    prompt: hi\n    schema:\n      type: strin\n"
	_, err := Parse("f.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), `f.yaml:7:7: schema is not a valid JSON schema: type "strin"`) {
		t.Errorf("a flow with a bad schema: %v", err)
	}
}

func TestAValueIsCheckedAgainstItsSchema(t *testing.T) {
	schema := map[string]any{"type": "object", "required": []any{"price"},
		"properties": map[string]any{"price": map[string]any{"type": "number"}, "n": map[string]any{"type": "integer"},
			"kind": map[string]any{"enum": []any{"a", "b"}}},
		"additionalProperties": false}
	for _, c := range []struct {
		name, text, want string // want "" for a match
	}{
		{"a match", `{"price": 3, "n": 2, "kind": "a"}`, ""},
		{"an integer written as a float", `{"price": 3, "n": 2.0}`, ""},
		{"a missing property", `{"n": 1}`, `missing properties: ["price"]`},
		{"a wrong type", `{"price": "3"}`, `want "number"`},
		{"a fraction for an integer", `{"price": 1, "n": 2.5}`, `want "integer"`},
		{"a value outside the enum", `{"price": 1, "kind": "c"}`, "enum"},
		{"a property not allowed", `{"price": 1, "zz": 1}`, `additional properties ["zz"]`},
		{"not JSON", `nope`, "not JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateJSON(schema, c.text)
			if c.want == "" {
				if err != nil {
					t.Fatalf("err = %v, want a match", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}
