package engine_test

import (
	"runtime"
	"strings"
	"testing"

	"tandem/engine"
)

func TestASubscriberBehindGetsEveryDeltaCoalescedInOrder(t *testing.T) {
	bus := engine.NewBus()
	sub := bus.Subscribe("")
	defer sub.Close()
	delta := func(step, stream, text string) {
		bus.PublishDelta(engine.Delta{RunID: "r", StepID: step, Stream: stream, Text: text})
	}
	delta("a", "content", "hel")
	delta("a", "content", "lo")
	delta("a", "thinking", "hmm")
	delta("a", "content", " world")
	bus.PublishDelta(engine.Delta{RunID: "r", StepID: "a", Stream: "trace", Trace: &engine.TraceData{Kind: "tool_call"}})
	delta("a", "content", "!")
	bus.PublishEvents([]engine.Event{{RunID: "r", Type: engine.StepSucceeded, StepID: "a"}})
	delta("b", "stdout", "x")
	delta("b", "stdout", "y")
	var got []string
	for _, n := range sub.Next() {
		switch {
		case n.Event != nil:
			got = append(got, "event "+string(n.Event.Type))
		case n.Delta.Trace != nil:
			got = append(got, "trace "+n.Delta.Trace.Kind)
		default:
			got = append(got, n.Delta.StepID+" "+n.Delta.Stream+" "+n.Delta.Text)
		}
	}
	want := []string{"a content hello", "a thinking hmm", "a content  world", "trace tool_call", "a content !",
		"event step_succeeded", "b stdout xy"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("notices:\n%q\nwant\n%q", got, want)
	}
	delta("b", "stdout", "z")
	if n := sub.Next(); len(n) != 1 || n[0].Delta.Text != "z" {
		t.Fatalf("after a read, the next delta starts afresh: %+v", n)
	}
}

func TestASubscriberBehindOnALongReplyCostsLinearMemory(t *testing.T) {
	bus := engine.NewBus()
	sub := bus.Subscribe("")
	defer sub.Close()
	const tokens, token = 50_000, "tok "
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < tokens; i++ {
		bus.PublishDelta(engine.Delta{RunID: "r", StepID: "a", Stream: "content", Text: token})
	}
	n := sub.Next()
	runtime.ReadMemStats(&after)
	if len(n) != 1 || len(n[0].Delta.Text) != tokens*len(token) {
		t.Fatalf("%d notices, want the reply coalesced into one", len(n))
	}
	// Copying the queued text again for every token would allocate ~5 GB here.
	text := uint64(tokens * len(token))
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64*text {
		t.Fatalf("queueing a %d-byte reply allocated %d bytes", text, alloc)
	}
}
