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
