# The verbs a newcomer needs; each is a thin wrapper over commands you could type yourself.
.PHONY: setup run test bench lint fuzz build tour

GO ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

# Install the real Ollama (built from source, cached) and the test model, and build tandem.
setup:
	bash scripts/ollama-setup
	$(GO) build -o bin/tandem ./cmd/tandem

build:
	$(GO) build -o bin/tandem ./cmd/tandem

# Open the workbench on the example workspace, with a real model served locally.
run: setup
	bash scripts/workbench

# The PostgreSQL tests' server: $TANDEM_TEST_POSTGRES, or the one scripts/postgres-test-server
# starts (it stays up for the next run; `bash scripts/postgres-test-server stop` stops it).
# Without either, those tests skip and say why (in CI they fail).
PG_TEST_URL = $${TANDEM_TEST_POSTGRES:-$$(bash scripts/postgres-test-server start || true)}

# Every test: unit, store conformance (SQLite and PostgreSQL), real-Ollama integration,
# end-to-end CLI and TUI.
test:
	$(GO) vet ./...
	test -z "$$(gofmt -l .)" || { gofmt -l .; echo 'gofmt: files above need formatting'; exit 1; }
	$(STATICCHECK) ./...
	export TANDEM_TEST_POSTGRES="$(PG_TEST_URL)"; \
	$(GO) test -race -count=1 ./engine/... ./store/... && \
	$(GO) test -count=1 -timeout 40m ./...

# Every performance goal, each against a baseline measured in the same run, and the agent
# benchmark's table (BenchmarkAgentTasks: every installed model, both tool-calling modes).
# The model benchmarks need scripts/ollama-setup's server and models.
bench:
	$(GO) test -run '^$$' -bench DurableSteps -benchtime=3x ./store/
	$(GO) test -run '^$$' -bench FanOutJoin -benchtime=1x ./store/
	$(GO) test -run '^$$' -bench RunIndex -benchtime=3x ./store/
	$(GO) test -run '^$$' -bench CommandSteps -benchtime=3x ./store/
	$(GO) test -run '^$$' -bench GroupCommit -benchtime=3x ./store/
	cd benchmarks/dbos && $(GO) test -run '^$$' -bench 'Peers$$' -benchtime=3x .
	cd benchmarks/dbos && TANDEM_TEST_POSTGRES="$(PG_TEST_URL)" $(GO) test -run '^$$' -bench PeersPostgres -benchtime=1x .
	$(GO) test -run '^$$' -bench ModelLayer -benchtime=10x ./agents/model/
	$(GO) test -run '^$$' -bench . -benchtime=1x -timeout 90m ./agents/
	$(GO) test -run '^$$' -bench . ./ui/
	$(GO) test -run '^$$' -bench 'Startup|CommandTree' -benchtime=10x ./cmd/tandem/
	$(GO) test -run '^$$' -bench RunMemory -benchtime=1x ./cmd/tandem/

lint:
	$(GO) mod tidy -diff
	$(GO) vet ./...
	test -z "$$(gofmt -l .)" || { gofmt -l .; echo 'gofmt: files above need formatting'; exit 1; }
	$(STATICCHECK) ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./flows/
	$(GO) test -run '^$$' -fuzz FuzzRenderShell -fuzztime 30s ./flows/
	$(GO) test -run '^$$' -fuzz FuzzCleanTerminal -fuzztime 30s ./cmd/tandem/
	$(GO) test -run '^$$' -fuzz FuzzMarkdown -fuzztime 30s ./ui/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./eval/
	$(GO) test -run '^$$' -fuzz FuzzPartialSuccess -fuzztime 30s ./telemetry/

# The README's screenshots, docs/tour/*.png, from the real workbench in tmux.
tour:
	bash scripts/tour
