package ollama

import "github.com/ollama/ollama/api"

// Local names for the API types used outside ollama.go.
type (
	showRequest      = api.ShowRequest
	pullRequest      = api.PullRequest
	progressResponse = api.ProgressResponse
)
