package model

// OptionsFrom reads model options written in a flow or agent file (temperature, seed,
// num_ctx, num_predict).
func OptionsFrom(m map[string]any) Options {
	var o Options
	num := func(v any) (float64, bool) {
		switch n := v.(type) {
		case int:
			return float64(n), true
		case float64:
			return n, true
		}
		return 0, false
	}
	if v, ok := num(m["temperature"]); ok {
		o.Temperature = &v
	}
	if v, ok := num(m["seed"]); ok {
		s := int(v)
		o.Seed = &s
	}
	if v, ok := num(m["num_ctx"]); ok {
		o.NumCtx = int(v)
	}
	if v, ok := num(m["num_predict"]); ok {
		o.NumPredict = int(v)
	}
	return o
}
