package model

// What a model server says about its models, for the interfaces that list and pull them.

// LocalModel describes a model the server has.
type LocalModel struct {
	Name          string       `json:"name"`
	Size          int64        `json:"size"`
	Family        string       `json:"family,omitempty"`
	ParameterSize string       `json:"parameter_size,omitempty"`
	Quantization  string       `json:"quantization,omitempty"`
	Capabilities  Capabilities `json:"capabilities"`
}

// PullProgress is one progress report of a pull.
type PullProgress struct {
	Status    string
	Total     int64
	Completed int64
}
