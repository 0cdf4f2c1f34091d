package ollama_test

import (
	"context"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"tandem/agents/model"
	"tandem/agents/ollama"
	"tandem/internal/ollamatest"
)

// BenchmarkModelLayerOverhead streams the same prompt (same seed, same length) through
// Ollama's api.Client directly and through the model layer, alternating, in one run, and
// reports tokens/s and time to first token for both and the layer's overhead.
//
//	go test -run '^$' -bench ModelLayer -benchtime 10x ./agents/model/
func BenchmarkModelLayerOverhead(b *testing.B) {
	srv := ollamatest.Start(b)
	o, err := ollama.New(srv.Host)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	const predict = 64
	msgs := []model.Message{{Role: "user", Content: "Tell a long story about a lighthouse keeper."}}
	temp, seed := 0.0, 7
	stream := true
	direct := func() (ttft, total time.Duration, tokens int, evalRate float64) {
		req := &api.ChatRequest{Model: srv.Model, Stream: &stream,
			Messages: []api.Message{{Role: "user", Content: msgs[0].Content}},
			Options:  map[string]any{"temperature": temp, "seed": seed, "num_predict": predict}}
		start := time.Now()
		err := o.API().Chat(ctx, req, func(r api.ChatResponse) error {
			if ttft == 0 && r.Message.Content != "" {
				ttft = time.Since(start)
			}
			if r.Done {
				tokens = r.EvalCount
				evalRate = float64(r.EvalCount) / r.EvalDuration.Seconds()
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		return ttft, time.Since(start), tokens, evalRate
	}
	layered := func() (ttft, total time.Duration, tokens int) {
		start := time.Now()
		resp, err := o.Chat(ctx, model.Request{Model: srv.Model, Messages: msgs,
			Options: model.Options{Temperature: &temp, Seed: &seed, NumPredict: predict}}, func(d model.Delta) {
			if ttft == 0 && d.Content != "" {
				ttft = time.Since(start)
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		return ttft, time.Since(start), resp.Usage.OutputTokens
	}
	direct() // load the model before measuring
	var dTTFT, lTTFT, dTotal, lTotal time.Duration
	var dTok, lTok int
	var rate float64
	for i := 0; i < b.N; i++ {
		t1, tot1, n1, r := direct()
		t2, tot2, n2 := layered()
		dTTFT, dTotal, dTok, rate = dTTFT+t1, dTotal+tot1, dTok+n1, rate+r
		lTTFT, lTotal, lTok = lTTFT+t2, lTotal+tot2, lTok+n2
	}
	n := float64(b.N)
	dRate := float64(dTok) / dTotal.Seconds()
	lRate := float64(lTok) / lTotal.Seconds()
	b.ReportMetric(dRate, "direct_tok/s")
	b.ReportMetric(lRate, "layer_tok/s")
	b.ReportMetric(100*(dRate-lRate)/dRate, "overhead_%")
	b.ReportMetric(float64(dTTFT.Microseconds())/n/1000, "direct_ttft_ms")
	b.ReportMetric(float64(lTTFT.Microseconds())/n/1000, "layer_ttft_ms")
	b.ReportMetric(float64((lTTFT-dTTFT).Microseconds())/n/1000, "ttft_overhead_ms")
	b.ReportMetric(rate/n, "ollama_eval_tok/s")
}
