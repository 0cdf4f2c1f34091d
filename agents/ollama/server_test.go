package ollama

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCapabilitiesReportTheModelsParameterCount(t *testing.T) {
	for _, tc := range []struct {
		name string
		show string
		want int64
	}{
		{"from parameter_size in millions", `{"details":{"parameter_size":"494.03M"},"capabilities":["completion","tools"]}`, 494_030_000},
		{"from parameter_size in billions", `{"details":{"parameter_size":"1.5B"},"capabilities":["completion"]}`, 1_500_000_000},
		{"from model_info when the size is not given", `{"details":{},"model_info":{"general.parameter_count":134515008},"capabilities":["completion"]}`, 134_515_008},
		{"unknown when neither is given", `{"details":{"parameter_size":"big"},"capabilities":["completion"]}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(tc.show))
			}))
			defer srv.Close()
			o, err := New(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			c, err := o.Capabilities(context.Background(), "m")
			if err != nil || c.Parameters != tc.want {
				t.Fatalf("parameters %d, want %d (err %v)", c.Parameters, tc.want, err)
			}
		})
	}
}
