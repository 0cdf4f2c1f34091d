package agents

import (
	"testing"

	"tandem/internal/ollamatest"
)

// TestMain stops the Ollama server the real-model tests and benchmarks start.
func TestMain(m *testing.M) { ollamatest.Main(m) }
