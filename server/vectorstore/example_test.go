package vectorstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"time"

	"stockagent/server/vectorstore"
)

// The cache path of /analyze: look for a recent, similar report on the ticker; on a miss,
// write the report and store it with its vector.
func Example() {
	dataDir, err := os.MkdirTemp("", "vectorstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dataDir)

	// QDRANT_URL ("" here) picks the backend; the dimension comes from the embedding model.
	s, err := vectorstore.Open("", dataDir, 3)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()

	// What the report is written from: a request of another model version or data date
	// never finds it.
	scope := vectorstore.Scope{Ticker: "AAPL", ModelVersion: "20250102T030405Z", DataAsOf: "2025-01-02"}
	lookup := func(vec []float32) {
		since := time.Now().Add(-vectorstore.DefaultMaxAge)
		hit, ok, err := s.Search(ctx, scope, vec, since, vectorstore.DefaultMinScore)
		switch {
		case err != nil:
			fmt.Println("no cache:", err) // e.g. ErrUnavailable: run the agent anyway
		case ok:
			fmt.Printf("hit (%.2f): %s\n", hit.Score, hit.Payload)
		default:
			fmt.Println("miss: run the agent")
		}
	}

	lookup([]float32{0.9, 0.1, 0.2})
	err = s.Upsert(ctx, vectorstore.Point{
		ID:      vectorstore.NewID(),
		Scope:   scope,
		Vector:  []float32{0.9, 0.1, 0.2},
		Payload: json.RawMessage(`{"recommendation":"NEUTRAL"}`),
	})
	if err != nil {
		log.Fatal(err)
	}
	lookup([]float32{0.88, 0.12, 0.21}) // nearly the same cache text
	lookup([]float32{0.1, 0.9, 0.2})    // different news

	// Output:
	// miss: run the agent
	// hit (1.00): {"recommendation":"NEUTRAL"}
	// miss: run the agent
}
