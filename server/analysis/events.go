package analysis

import (
	"encoding/json"
	"sync"
	"time"
)

// Event is one server-sent event of a streamed analysis: its name and its
// data, one JSON object (docs/api.md, "The analysis stream").
type Event struct {
	Name string
	Data json.RawMessage
}

// The events' names.
const (
	EventStage    = "stage"    // {"stage", "elapsed_ms"}: a step of the flow starts
	EventToken    = "token"    // {"node", "text", "provisional": true}: the LLM's text as it is written
	EventField    = "field"    // {"field", "text", "provisional": false}: a report part that passed its checks
	EventReport   = "report"   // the answer of the non-streaming call; the last event
	EventTraining = "training" // the 202 answer: the model trains first; the last event
	EventError    = "error"    // {"detail", "status"}: a failure after the stream began; the last event
)

// Sink receives one request's events in order. It is called by one
// goroutine at a time and must not block for long: a run shared by several
// requests waits for each of their sinks.
type Sink func(Event)

// agentStages are the analyst's nodes a stream shows; its other nodes
// (prepare) are bookkeeping.
var agentStages = map[string]bool{
	"performance_analyst": true, "news_analyst": true, "writer": true,
	"critic": true, "finalize": true, "answer": true,
}

// pyEvent is a progress event of the analyst (stockagent.agent.graph):
// {"stage": "agent", "node"} as a node starts, {"event": "token", "node",
// "text"} and {"event": "field", "field", "text"}.
type pyEvent struct {
	Stage string `json:"stage"`
	Event string `json:"event"`
	Node  string `json:"node"`
	Field string `json:"field"`
	Text  string `json:"text"`
}

// stream is one request's view of its events: the sink, the clock its
// stage events count from, and the first-event measurements after the
// cache miss.
type stream struct {
	sink  Sink
	obs   Observer
	start time.Time

	mu   sync.Mutex // the sink is called from the request's and the run's goroutines
	miss time.Time  // when the agent stage began; zero before
	seen map[string]bool
}

func newStream(sink Sink, obs Observer) *stream {
	return &stream{sink: sink, obs: obs, start: time.Now(), seen: map[string]bool{}}
}

// send passes e on; the first event, token and field after the cache miss
// are measured.
func (s *stream) send(e Event) {
	if s == nil || s.sink == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.miss.IsZero() {
		s.first("event")
		if e.Name == EventToken || e.Name == EventField {
			s.first(e.Name)
		}
	}
	s.sink(e)
}

func (s *stream) first(kind string) {
	if !s.seen[kind] {
		s.seen[kind] = true
		s.obs.StreamFirst(kind, time.Since(s.miss))
	}
}

// stage sends a stage event with the time since the request began; the
// agent stage is the known cache miss the first events are measured from.
func (s *stream) stage(name string) {
	if s == nil || s.sink == nil {
		return
	}
	s.send(NewEvent(EventStage, map[string]any{"stage": name, "elapsed_ms": time.Since(s.start).Milliseconds()}))
	if name == "agent" {
		s.mu.Lock()
		s.miss = time.Now()
		s.mu.Unlock()
	}
}

// agent passes on one of the analyst's progress events as the stream's
// event, dropping those the stream does not show. Events are read by each
// request itself, so their times count from its own start.
func (s *stream) agent(data []byte) {
	if s == nil || s.sink == nil {
		return
	}
	var e pyEvent
	if json.Unmarshal(data, &e) != nil {
		return
	}
	switch {
	case e.Stage == "agent" && agentStages[e.Node]:
		s.stage(e.Node)
	case e.Event == EventToken && e.Text != "":
		s.send(NewEvent(EventToken, map[string]any{"node": e.Node, "text": e.Text, "provisional": true}))
	case e.Event == EventField && e.Field != "":
		s.send(NewEvent(EventField, map[string]any{"field": e.Field, "text": e.Text, "provisional": false}))
	}
}

// listener is what the request reads of its run's events; nil when it
// does not stream.
func (s *stream) listener() Raw {
	if s == nil || s.sink == nil {
		return nil
	}
	return s.agent
}

// Raw is an analysis run's progress events as the analyst sends them, each
// one JSON object; every request waiting for the run reads them (stream.agent).
type Raw func(data []byte)

// NewEvent is the event name with v, a map of strings and numbers, as its data.
func NewEvent(name string, v any) Event {
	b, err := json.Marshal(v)
	if err != nil { // maps of strings and numbers always encode
		panic(err)
	}
	return Event{Name: name, Data: b}
}
