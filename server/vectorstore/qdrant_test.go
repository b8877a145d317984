package vectorstore_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qdrant/go-client/qdrant"

	"stockagent/server/servertest"
	"stockagent/server/vectorstore"
	"stockagent/server/vectorstore/qdranttest"
)

// closedPortURL returns a Qdrant URL on a loopback port nobody listens on.
func closedPortURL(t testing.TB) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(servertest.Port(t))
}

// TestQdrantUnavailable opens a store on a closed port. Open's ping is bounded by the
// store's timeout; the guard's deadline only turns a hang into a clear failure (how fast
// Open gives up is BenchmarkOpenUnavailable's to measure).
func TestQdrantUnavailable(t *testing.T) {
	url, dir := closedPortURL(t), t.TempDir()
	guard, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type opened struct {
		s   vectorstore.Store
		err error
	}
	done := make(chan opened, 1)
	go func() {
		s, err := vectorstore.Open(url, dir, dim)
		done <- opened{s, err}
	}()
	var got opened
	select {
	case got = <-done:
	case <-guard.Done():
		t.Fatal("Open(closed port) did not return within 30s: a refused connection must fail its ping, not hang")
	}
	if !errors.Is(got.err, vectorstore.ErrUnavailable) {
		t.Fatalf("Open(closed port) = %v, %v; want ErrUnavailable", got.s, got.err)
	}
	if !strings.HasPrefix(got.err.Error(), "vectorstore: qdrant ping: ") || !strings.Contains(got.err.Error(), url) {
		t.Errorf("error %q should say it was a ping, and of %s", got.err, url)
	}
}

// TestQdrantDoubleOutage takes the server (qdranttest's double, which can be stopped
// and started again) away under an open store: every call wraps ErrUnavailable, and the
// store recovers when the server comes back.
func TestQdrantDoubleOutage(t *testing.T) {
	srv := qdranttest.NewServer(t)
	s := openQdrant(t, srv.URL(), "outage", dim)
	ctx := context.Background()
	mustUpsert(t, s, point("AAPL", axis0(), time.Now(), "before"))

	srv.Stop()
	for name, call := range everyCall(ctx, s) {
		if err := call(); !errors.Is(err, vectorstore.ErrUnavailable) {
			t.Errorf("%s with the server down = %v; want ErrUnavailable", name, err)
		}
	}

	srv.Start()
	deadline := time.Now().Add(10 * time.Second)
	for s.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("store did not reconnect within 10s: %v", s.Ping(ctx))
		}
		time.Sleep(20 * time.Millisecond)
	}
	h, ok := mustSearch(t, s, "AAPL", axis0(), time.Time{}, 0.95)
	wantHit(t, h, ok, "before", 1)
}

// TestQdrantDoubleCallerCancelled: a call whose context the caller cancelled is that
// cancel, not an outage (on qdranttest's double).
func TestQdrantDoubleCallerCancelled(t *testing.T) {
	s := openQdrant(t, qdranttest.NewServer(t).URL(), "cancel", dim)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := s.Search(ctx, scope("AAPL"), axis0(), time.Time{}, 0.5)
	if !errors.Is(err, context.Canceled) || errors.Is(err, vectorstore.ErrUnavailable) {
		t.Fatalf("Search(cancelled) = %v; want context.Canceled, not ErrUnavailable", err)
	}
}

// TestQdrantCollection checks what Open sets up, through Qdrant's own client: the size,
// cosine distance and both payload indexes; then that reopening adopts the collection and
// that another dimension is refused clearly. It runs on the Qdrant qdranttest.Start gives,
// the double unless QDRANT_URL_TEST is set, and its subtest is named for it.
func TestQdrantCollection(t *testing.T) {
	t.Run(qdranttest.Name(), func(t *testing.T) {
		url := qdranttest.Start(t)
		name := qdranttest.Collection(t)
		openQdrant(t, url, name, dim)

		info := collectionInfo(t, url, name)
		params := info.GetConfig().GetParams().GetVectorsConfig().GetParams()
		if params.GetSize() != dim || params.GetDistance() != qdrant.Distance_Cosine {
			t.Fatalf("collection has size %d, distance %v; want %d, Cosine", params.GetSize(), params.GetDistance(), dim)
		}
		want := map[string]qdrant.PayloadSchemaType{
			"ticker":        qdrant.PayloadSchemaType_Keyword,
			"created_at_ms": qdrant.PayloadSchemaType_Integer,
		}
		for field, typ := range want {
			if got := info.GetPayloadSchema()[field].GetDataType(); got != typ {
				t.Errorf("payload index on %s is %v; want %v", field, got, typ)
			}
		}

		t.Run("reopen adopts it", func(t *testing.T) {
			s, err := vectorstore.NewQdrant(context.Background(), url, 0, vectorstore.WithCollection(name), vectorstore.WithAPIKey(qdranttest.APIKey()))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			mustUpsert(t, s, point("AAPL", axis0(), time.Now(), "p"))
			var de *vectorstore.DimensionError
			if err := s.Upsert(context.Background(), point("AAPL", make4(), time.Now(), "4d")); !errors.As(err, &de) || de.Want != dim {
				t.Fatalf("Upsert(4-d) = %v; want a DimensionError", err)
			}
		})
		t.Run("another dimension is refused", func(t *testing.T) {
			s, err := vectorstore.NewQdrant(context.Background(), url, 384, vectorstore.WithCollection(name), vectorstore.WithAPIKey(qdranttest.APIKey()))
			var de *vectorstore.DimensionError
			if !errors.As(err, &de) || de.Want != dim || de.Got != 384 {
				t.Fatalf("NewQdrant(384) on a %d-d collection = %v, %v; want a DimensionError", dim, s, err)
			}
			if errors.Is(err, vectorstore.ErrUnavailable) {
				t.Errorf("a dimension mismatch wraps ErrUnavailable: %v", err)
			}
			for _, part := range []string{name, "384", strconv.Itoa(dim)} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not name %q", err, part)
				}
			}
		})
	})
}

// TestQdrantDoubleCreatedOnFirstUpsert opens a missing collection with dimension 0:
// nothing is created until the first point, which fixes the size (qdranttest's double
// counts the calls).
func TestQdrantDoubleCreatedOnFirstUpsert(t *testing.T) {
	srv := qdranttest.NewServer(t)
	s := openQdrant(t, srv.URL(), "lazy", 0)
	if n := srv.Calls("Collections/Create"); n != 0 {
		t.Fatalf("Open(dim 0) created the collection (%d calls)", n)
	}
	mustUpsert(t, s, point("AAPL", make4(), time.Now(), "first"))
	if got := collectionInfo(t, srv.URL(), "lazy").GetConfig().GetParams().GetVectorsConfig().GetParams().GetSize(); got != 4 {
		t.Fatalf("collection created with size %d; want 4", got)
	}
	mustUpsert(t, s, point("AAPL", make4(), time.Now(), "second"))
	if n := srv.Calls("Collections/Create"); n != 1 {
		t.Fatalf("collection created %d times; want once", n)
	}
}

// TestQdrantDoubleAPIKey: a store without the key that qdranttest's double demands is
// refused as unauthenticated, not as unavailable.
func TestQdrantDoubleAPIKey(t *testing.T) {
	srv := qdranttest.NewServer(t, qdranttest.WithAPIKey("s3cret"))
	t.Run("without the key", func(t *testing.T) {
		s, err := vectorstore.NewQdrant(context.Background(), srv.URL(), dim, vectorstore.WithCollection("k"))
		if err == nil {
			s.Close()
			t.Fatal("NewQdrant without the API key succeeded")
		}
		if errors.Is(err, vectorstore.ErrUnavailable) || !strings.Contains(err.Error(), "Unauthenticated") {
			t.Fatalf("NewQdrant without the API key = %v; want Unauthenticated, not ErrUnavailable", err)
		}
	})
	t.Run("with the key", func(t *testing.T) {
		s := openQdrant(t, srv.URL(), "k", dim, vectorstore.WithAPIKey("s3cret"))
		mustUpsert(t, s, point("AAPL", axis0(), time.Now(), "p"))
		mustCount(t, s, 1)
	})
}

// collectionInfo asks the server at url about collection with Qdrant's own client.
func collectionInfo(t *testing.T, url, collection string) *qdrant.CollectionInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := qdranttest.Dial(t, url).GetCollectionInfo(ctx, collection)
	if err != nil {
		t.Fatalf("GetCollectionInfo(%s): %v", collection, err)
	}
	return info
}
