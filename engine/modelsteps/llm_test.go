package modelsteps_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"tandem/agents/model"
	"tandem/agents/ollama"
	"tandem/engine"
	"tandem/engine/modelsteps"
	"tandem/flows"
	"tandem/internal/ollamatest"
)

func TestMain(m *testing.M) { ollamatest.Main(m) }

const llmFlow = `
name: classify
inputs:
  text: { type: string, default: "I love it" }
steps:
  - id: classify
    llm:
      system: Classify the sentiment of the user's text. Answer in JSON.
      prompt: "{{ .inputs.text }}"
      schema: { type: object, properties: { sentiment: { type: string, enum: [positive, negative, neutral] } }, required: [sentiment] }
      options: { temperature: 0, seed: 1, num_predict: 64 }
    retry: { max_attempts: 2, backoff: 1ms }
  - id: act
    needs: [classify]
    shell: echo "sentiment={{ .steps.classify.json.sentiment }}"
`

func TestAnLLMStepsJSONOutputFeedsTheNextStep(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		fake := &model.Fake{Replies: []model.FakeReply{
			{Deltas: []model.Delta{{Content: `{"sentiment": "pos`}, {Content: `itive"}`}}, Usage: model.Usage{PromptTokens: 12, OutputTokens: 5}},
		}}
		h.eng.Register(flows.KindLLM, modelsteps.LLMExecutor{Model: fake, DefaultModel: "m"})
		st := h.run(h.flow("f.yaml", llmFlow), nil)
		if st.Status != engine.RunStatusSucceeded || st.Steps["act"].Output != "sentiment=positive" {
			t.Fatalf("%s %s act=%q", st.Status, st.Error, st.Steps["act"].Output)
		}
		if st.Tokens.Prompt != 12 || st.Tokens.Output != 5 {
			t.Errorf("tokens = %+v", st.Tokens)
		}
		req := fake.Calls()[0]
		if req.Model != "m" || len(req.Messages) != 2 || req.Messages[1].Content != "I love it" || len(req.Format) == 0 {
			t.Errorf("request = %+v", req)
		}
		events, _ := h.store.Events(context.Background(), st.ID, 0)
		streamed := ""
		for _, e := range events {
			var d engine.StepOutputData
			if e.Type == engine.StepOutput && e.Decode(&d) == nil && d.Stream == "content" {
				streamed += d.Text
			}
		}
		if streamed != `{"sentiment": "positive"}` {
			t.Errorf("tokens in the log = %q (want the reply, batched)", streamed)
		}
	})
}

func TestAReplyThatBreaksTheSchemaIsRetried(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		fake := &model.Fake{Replies: []model.FakeReply{
			{Deltas: []model.Delta{{Content: `{"sentiment": "furious"}`}}},
			{Deltas: []model.Delta{{Content: `{"sentiment": "negative"}`}}},
		}}
		h.eng.Register(flows.KindLLM, modelsteps.LLMExecutor{Model: fake, DefaultModel: "m"})
		st := h.run(h.flow("f.yaml", llmFlow), nil)
		if st.Status != engine.RunStatusSucceeded || len(st.Steps["classify"].Attempts) != 2 {
			t.Fatalf("%s attempts=%d", st.Status, len(st.Steps["classify"].Attempts))
		}
	})
}

func TestAnLLMStepAgainstTheRealModel(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		srv := ollamatest.Start(t)
		o, err := ollama.New(srv.Host)
		if err != nil {
			t.Fatal(err)
		}
		h := newHarness(t, open)
		h.eng.Register(flows.KindLLM, modelsteps.LLMExecutor{Model: o, DefaultModel: srv.Model})
		st := h.run(h.flow("f.yaml", llmFlow), map[string]string{"text": "This is the best day of my life!"})
		if st.Status != engine.RunStatusSucceeded {
			t.Fatalf("%s: %s", st.Status, st.Error)
		}
		out := st.Steps["act"].Output
		if out != "sentiment=positive" && out != "sentiment=negative" && out != "sentiment=neutral" {
			t.Fatalf("act output = %q", out)
		}
		if st.Tokens.Output == 0 {
			t.Errorf("no tokens recorded: %+v", st.Tokens)
		}
	})
}

func TestTraceRecordsReachTheBusBetweenTheTokensAroundThem(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		fake := &model.Fake{Replies: []model.FakeReply{
			{Deltas: []model.Delta{{Content: `{"sentiment": "pos`}, {Content: `itive"}`}}},
		}}
		h.eng.Register(flows.KindLLM, modelsteps.LLMExecutor{Model: fake, DefaultModel: "m"})
		sub := h.eng.Bus().Subscribe("")
		defer sub.Close()
		st := h.run(h.flow("f.yaml", llmFlow), nil)
		if st.Status != engine.RunStatusSucceeded {
			t.Fatalf("%s %s", st.Status, st.Error)
		}
		// Live order: the request record, the tokens, the response record. The log commits
		// records in batches, so an observer that waited for it would see tokens first.
		var order []string
		for _, n := range sub.Next() {
			if d := n.Delta; d != nil && d.StepID == "classify" {
				if d.Trace != nil {
					order = append(order, d.Trace.Kind)
				} else if d.Stream == "content" {
					order = append(order, "content")
				}
			}
		}
		got := strings.Join(order, " ")
		if got != "llm_request content llm_response" {
			t.Fatalf("live order = %q", got)
		}
	})
}

const draftFlow = `
name: edit
steps:
  - id: edit
    llm:
      prompt: "Edit the draft."
      schema: { type: object, properties: { title: { type: string }, body: { type: string }, tags: { type: array, items: { type: string, enum: [a, b] } } }, required: [title, body] }
      options: { num_predict: 100 }
`

// A schema-constrained reply the model is still writing at num_predict is cut and never
// parses. The format sent bounds each free string to what the budget leaves it, so the
// grammar closes the JSON in time; a reply cut anyway says so and how to fix it.
func TestAnLLMStepsFormatBoundsItsStringsToTheTokenBudget(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		fake := &model.Fake{Replies: []model.FakeReply{
			{Deltas: []model.Delta{{Content: `{"title": "Tides", "body": "The moon pulls`}}, DoneReason: "length"},
		}}
		h.eng.Register(flows.KindLLM, modelsteps.LLMExecutor{Model: fake, DefaultModel: "m"})
		st := h.run(h.flow("f.yaml", draftFlow), nil)
		if st.Status != engine.RunStatusFailed || !strings.Contains(st.Steps["edit"].Attempts[0].Error, "cut at the token limit (num_predict 100)") {
			t.Fatalf("%s: %+v", st.Status, st.Steps["edit"].Attempts)
		}
		var format struct {
			Properties map[string]struct {
				MaxLength int   `json:"maxLength"`
				Enum      []any `json:"enum"`
				Items     struct {
					MaxLength int `json:"maxLength"`
				} `json:"items"`
			} `json:"properties"`
		}
		req := fake.Calls()[0]
		if err := json.Unmarshal(req.Format, &format); err != nil {
			t.Fatal(err)
		}
		title, body := format.Properties["title"].MaxLength, format.Properties["body"].MaxLength
		if title <= 0 || body <= 0 || title+body > 2*100 {
			t.Errorf("title and body maxLength %d and %d do not fit 100 tokens: %s", title, body, req.Format)
		}
		if format.Properties["tags"].Items.MaxLength != 0 {
			t.Errorf("an enum string got a maxLength: %s", req.Format)
		}
		if i, j := strings.Index(string(req.Format), `"title"`), strings.Index(string(req.Format), `"body"`); i > j {
			t.Errorf("keys not in the schema's order (title before body): %s", req.Format)
		}
	})
}
