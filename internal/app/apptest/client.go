package apptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// Client calls a test server's JSON API, as the development user or, with
// Token, as the token's owner.
type Client struct {
	T     testing.TB
	Base  string
	Token string
}

// JSON sends body (nil for none) as JSON and decodes the answer into v
// (nil to ignore it), failing the test unless the status is want.
func (c Client) JSON(method, path string, body any, want int, v any) {
	c.T.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.T.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.Base+path, r)
	if err != nil {
		c.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.T.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		c.T.Fatalf("%s %s: got %d %s, want %d", method, path, res.StatusCode, out, want)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			c.T.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// TaskEvent is one event of a scaffolder task (GET …/tasks/{id}/events).
type TaskEvent struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
	Body struct {
		Message string `json:"message"`
		StepID  string `json:"stepId"`
		Status  string `json:"status"`
	} `json:"body"`
}

// Task is the part of a scaffolder task (GET …/tasks/{id}) tests look at.
type Task struct {
	Status string `json:"status"`
	State  struct {
		Output map[string]any `json:"output"`
		Error  string         `json:"error"`
	} `json:"state"`
}

// TaskEvents long-polls a task's events until its completion event, or
// until stop (when not nil) returns true, within a minute.
func (c Client) TaskEvents(id string, stop func(TaskEvent) bool) []TaskEvent {
	c.T.Helper()
	var all []TaskEvent
	var after int64
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var evs []TaskEvent
		c.JSON("GET", fmt.Sprintf("/api/scaffolder/v2/tasks/%s/events?after=%d", id, after), nil, 200, &evs)
		for _, e := range evs {
			all = append(all, e)
			after = e.ID
			if e.Type == "completion" || (stop != nil && stop(e)) {
				return all
			}
		}
	}
	c.T.Fatalf("task %s: no end; events %+v", id, all)
	return nil
}

// Operation is the part of an operation (GET /api/atrium/operations)
// tests look at.
type Operation struct {
	ID          string `json:"id"`
	TaskID      string `json:"taskId"`
	StepID      string `json:"stepId"`
	System      string `json:"system"`
	Kind        string `json:"kind"`
	ExternalID  string `json:"externalId"`
	ExternalURL string `json:"externalUrl"`
	State       string `json:"state"`
	Attempts    int    `json:"attempts"`
	LastError   *struct {
		System, Answer, Action string
	} `json:"lastError"`
	CancelRequested bool `json:"cancelRequested"`
}

// Operations returns the operations of a task, newest first.
func (c Client) Operations(taskID string) []Operation {
	c.T.Helper()
	var page struct {
		Items []Operation `json:"items"`
	}
	c.JSON("GET", "/api/atrium/operations?task="+taskID, nil, http.StatusOK, &page)
	return page.Items
}
