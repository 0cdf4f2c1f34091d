package ollama

import (
	"tandem/agents/model"

	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Capabilities reports what a model supports, asking the server once per model.
func (o *Client) Capabilities(ctx context.Context, name string) (model.Capabilities, error) {
	if c, ok := o.caps.Load(name); ok {
		return c.(model.Capabilities), nil
	}
	show, err := o.client.Show(ctx, &showRequest{Model: name})
	if err != nil {
		return model.Capabilities{}, o.classify(ctx, err, name, false)
	}
	var c model.Capabilities
	for _, cap := range show.Capabilities {
		switch string(cap) {
		case "completion":
			c.Completion = true
		case "tools":
			c.Tools = true
		case "thinking":
			c.Thinking = true
		}
	}
	c.Parameters = parseParameterSize(show.Details.ParameterSize)
	if c.Parameters == 0 {
		if n, ok := show.ModelInfo["general.parameter_count"].(float64); ok {
			c.Parameters = int64(n)
		}
	}
	o.caps.Store(name, c)
	return c, nil
}

// parseParameterSize reads Ollama's parameter_size ("134.52M", "494.03M", "1.5B", "7B");
// 0 when it cannot.
func parseParameterSize(s string) int64 {
	s = strings.TrimSpace(strings.ToUpper(s))
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "K"):
		mult = 1e3
	case strings.HasSuffix(s, "M"):
		mult = 1e6
	case strings.HasSuffix(s, "B"):
		mult = 1e9
	case strings.HasSuffix(s, "T"):
		mult = 1e12
	}
	n, err := strconv.ParseFloat(strings.TrimRight(s, "KMBT"), 64)
	if err != nil || n < 0 {
		return 0
	}
	return int64(n * mult)
}

// Running names the models the server has loaded now (Ollama's /api/ps). A model is listed
// once it is loaded, so a client waiting on a first reply can tell loading from reading.
func (o *Client) Running(ctx context.Context) ([]string, error) {
	resp, err := o.client.ListRunning(ctx)
	if err != nil {
		return nil, o.classify(ctx, err, "", false)
	}
	out := make([]string, 0, len(resp.Models))
	for _, m := range resp.Models {
		out = append(out, m.Name)
	}
	return out, nil
}

// List returns the server's local models with their capabilities, sorted by name.
func (o *Client) List(ctx context.Context) ([]model.LocalModel, error) {
	resp, err := o.client.List(ctx)
	if err != nil {
		return nil, o.classify(ctx, err, "", false)
	}
	out := make([]model.LocalModel, 0, len(resp.Models))
	for _, m := range resp.Models {
		lm := model.LocalModel{Name: m.Name, Size: m.Size, Family: m.Details.Family,
			ParameterSize: m.Details.ParameterSize, Quantization: m.Details.QuantizationLevel}
		if c, err := o.Capabilities(ctx, m.Name); err == nil {
			lm.Capabilities = c
		}
		out = append(out, lm)
	}
	slices.SortFunc(out, func(a, b model.LocalModel) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out, nil
}

// Pull downloads a model, reporting progress.
func (o *Client) Pull(ctx context.Context, name string, progress func(model.PullProgress)) error {
	err := o.client.Pull(ctx, &pullRequest{Model: name}, func(p progressResponse) error {
		if progress != nil {
			progress(model.PullProgress{Status: p.Status, Total: p.Total, Completed: p.Completed})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pull %s: %w", name, o.classify(ctx, err, name, false))
	}
	o.caps.Delete(name)
	return nil
}

// Version returns the server's version.
func (o *Client) Version(ctx context.Context) (string, error) {
	v, err := o.client.Version(ctx)
	if err != nil {
		return "", o.classify(ctx, err, "", false)
	}
	return v, nil
}
