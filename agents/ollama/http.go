package ollama

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
)

// statusError is a reply with an HTTP error status and the server's message.
type statusError struct {
	StatusCode int
	Status     string // "404 Not Found"; empty when only the code is known
	Message    string // the body's "error", or the body itself
}

func (e statusError) Error() string {
	switch {
	case e.Status != "" && e.Message != "":
		return e.Status + ": " + e.Message
	case e.Message != "":
		return e.Message
	case e.Status != "":
		return e.Status
	}
	return fmt.Sprintf("status %d (see the Ollama server's log)", e.StatusCode)
}

// maxLine bounds one line of a streamed reply (a tool call's arguments arrive in one).
const maxLine = 8 << 20

var userAgent = fmt.Sprintf("tandem (%s %s) Go/%s", runtime.GOARCH, runtime.GOOS, runtime.Version())

func (o *Client) newRequest(ctx context.Context, method, path string, body any, accept string) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, o.base.JoinPath(path).String(), r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", userAgent)
	return req, nil
}

// call sends one request and decodes its JSON reply into out (when out is not nil).
func (o *Client) call(ctx context.Context, method, path string, body, out any) error {
	req, err := o.newRequest(ctx, method, path, body, "application/json")
	if err != nil {
		return err
	}
	resp, err := o.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= http.StatusBadRequest {
		return replyError(resp, b)
	}
	if len(b) > 0 && out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// replyError is the error of a reply with an error status: the "error" of its JSON body,
// or the body as it is.
func replyError(resp *http.Response, body []byte) error {
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	return statusError{StatusCode: resp.StatusCode, Status: resp.Status, Message: msg}
}

// stream sends one request and hands each line of its NDJSON reply to fn, stopping at the
// first error fn returns. A line that carries {"error": ...} ends the stream with that
// error (a failure after the status line was sent); a line that is not JSON is an error
// too. The stream ending early (the connection cut) is no error here: the caller sees
// that no final line came.
func (o *Client) stream(ctx context.Context, path string, body any, fn func([]byte) error) error {
	req, err := o.newRequest(ctx, http.MethodPost, path, body, "application/x-ndjson")
	if err != nil {
		return err
	}
	resp, err := o.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= http.StatusBadRequest {
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxLine))
		if err != nil && len(b) == 0 {
			return statusError{StatusCode: resp.StatusCode, Status: resp.Status}
		}
		return replyError(resp, b)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for sc.Scan() {
		line := sc.Bytes()
		var e struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(line, &e); err != nil {
			return fmt.Errorf("a line of the reply is not JSON: %.200q", line)
		}
		if e.Error != "" {
			return errors.New(e.Error)
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return fmt.Errorf("a line of the reply is over %d MiB", maxLine>>20)
	}
	return nil
}
