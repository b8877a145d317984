package qdranttest_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"stockagent/server/vectorstore/qdranttest"
)

// These tests pin down the double's answers with Qdrant's own client. With
// QDRANT_URL_TEST set they run against that server instead, which checks that the double
// answers as Qdrant does.

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fixture is a collection of four 3-d points: point n has vector [1, n/10, 0] and payload
// {name: "p<n>", n: n, half: n/2, tag: ["a","b"] | ["b"] | [] | absent}.
type fixture struct {
	c    *qdrant.Client
	name string
}

var ids = map[int]string{
	1: "00000000-0000-4000-8000-000000000001",
	2: "00000000-0000-4000-8000-000000000002",
	3: "00000000-0000-4000-8000-000000000003",
	4: "00000000-0000-4000-8000-000000000004",
}

func newFixture(t *testing.T, url string) fixture {
	t.Helper()
	c := qdranttest.Dial(t, url)
	name := qdranttest.Collection(t)
	ctx := ctxT(t)
	err := c.CreateCollection(ctx, &qdrant.CreateCollection{
		CollectionName: name,
		VectorsConfig:  qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 3, Distance: qdrant.Distance_Cosine}),
	})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	t.Cleanup(func() { _ = c.DeleteCollection(context.Background(), name) })
	tags := map[int][]any{1: {"a", "b"}, 2: {"b"}, 3: {}, 4: nil}
	var pts []*qdrant.PointStruct
	for n := 1; n <= 4; n++ {
		payload := map[string]any{"name": "p" + strconv.Itoa(n), "n": int64(n), "half": float64(n) / 2}
		if tags[n] != nil {
			payload["tag"] = tags[n]
		}
		pts = append(pts, &qdrant.PointStruct{
			Id:      qdrant.NewID(ids[n]),
			Vectors: qdrant.NewVectors(1, float32(n)/10, 0),
			Payload: qdrant.NewValueMap(payload),
		})
	}
	if _, err := c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: name, Wait: qdrant.PtrOf(true), Points: pts}); err != nil {
		t.Fatalf("upsert: %v", err)
	}
	return fixture{c: c, name: name}
}

// count returns how many points filter matches.
func (f fixture) count(t *testing.T, filter *qdrant.Filter) uint64 {
	t.Helper()
	n, err := f.c.Count(ctxT(t), &qdrant.CountPoints{CollectionName: f.name, Filter: filter, Exact: qdrant.PtrOf(true)})
	if err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

func TestFilters(t *testing.T) {
	f := newFixture(t, qdranttest.Start(t))
	must := func(cs ...*qdrant.Condition) *qdrant.Filter { return &qdrant.Filter{Must: cs} }
	cases := map[string]struct {
		filter *qdrant.Filter
		want   uint64
	}{
		"no filter":         {nil, 4},
		"empty filter":      {&qdrant.Filter{}, 4},
		"keyword":           {must(qdrant.NewMatchKeyword("name", "p2")), 1},
		"keyword absent":    {must(qdrant.NewMatchKeyword("name", "P2")), 0},
		"keyword in list":   {must(qdrant.NewMatchKeyword("tag", "b")), 2},
		"keywords any":      {must(qdrant.NewMatchKeywords("name", "p1", "p3", "zz")), 2},
		"integer":           {must(qdrant.NewMatchInt("n", 3)), 1},
		"range gte":         {must(qdrant.NewRange("n", &qdrant.Range{Gte: qdrant.PtrOf(2.0)})), 3},
		"range lt":          {must(qdrant.NewRange("n", &qdrant.Range{Lt: qdrant.PtrOf(2.0)})), 1},
		"range on a double": {must(qdrant.NewRange("half", &qdrant.Range{Gt: qdrant.PtrOf(1.0), Lte: qdrant.PtrOf(1.5)})), 1},
		"range on a string": {must(qdrant.NewRange("name", &qdrant.Range{Gte: qdrant.PtrOf(0.0)})), 0},
		"must and":          {must(qdrant.NewMatchKeyword("tag", "b"), qdrant.NewRange("n", &qdrant.Range{Gte: qdrant.PtrOf(2.0)})), 1},
		"must_not":          {&qdrant.Filter{MustNot: []*qdrant.Condition{qdrant.NewMatchKeyword("tag", "a")}}, 3},
		"should or":         {&qdrant.Filter{Should: []*qdrant.Condition{qdrant.NewMatchInt("n", 1), qdrant.NewMatchInt("n", 4)}}, 2},
		"should none":       {&qdrant.Filter{Should: []*qdrant.Condition{qdrant.NewMatchInt("n", 9)}}, 0},
		"nested filter":     {must(qdrant.NewFilterAsCondition(&qdrant.Filter{MustNot: []*qdrant.Condition{qdrant.NewMatchInt("n", 1)}})), 3},
		"has_id":            {must(qdrant.NewHasID(qdrant.NewID(ids[2]), qdrant.NewID(ids[4]))), 2},
		"is_empty":          {must(qdrant.NewIsEmpty("tag")), 2},
		"unknown field":     {must(qdrant.NewMatchKeyword("nope", "x")), 0},
		"uppercase UUID id": {must(qdrant.NewHasID(qdrant.NewID(strings.ToUpper(ids[3])))), 1},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := f.count(t, c.filter); got != c.want {
				t.Fatalf("count = %d, want %d", got, c.want)
			}
		})
	}
}

func TestQuery(t *testing.T) {
	f := newFixture(t, qdranttest.Start(t))
	// Scores against [0, 1, 0] rise with n: n/10 / sqrt(1 + n²/100).
	query := func(t *testing.T, q *qdrant.QueryPoints) []*qdrant.ScoredPoint {
		t.Helper()
		q.CollectionName = f.name
		q.Query = qdrant.NewQueryDense([]float32{0, 1, 0})
		res, err := f.c.Query(ctxT(t), q)
		if err != nil {
			t.Fatalf("query: %v", err)
		}
		return res
	}
	names := func(res []*qdrant.ScoredPoint) []string {
		var out []string
		for _, r := range res {
			out = append(out, r.GetPayload()["name"].GetStringValue())
		}
		return out
	}
	t.Run("best first, limit and offset", func(t *testing.T) {
		res := query(t, &qdrant.QueryPoints{Limit: qdrant.PtrOf(uint64(2)), Offset: qdrant.PtrOf(uint64(1)), WithPayload: qdrant.NewWithPayload(true)})
		if got := names(res); !slices.Equal(got, []string{"p3", "p2"}) {
			t.Fatalf("names = %v, want [p3 p2]", got)
		}
	})
	t.Run("score threshold", func(t *testing.T) {
		// n=2: 0.196; n=3: 0.287; n=4: 0.371.
		res := query(t, &qdrant.QueryPoints{ScoreThreshold: qdrant.PtrOf(float32(0.25)), WithPayload: qdrant.NewWithPayload(true)})
		if got := names(res); !slices.Equal(got, []string{"p4", "p3"}) {
			t.Fatalf("names = %v, want [p4 p3]", got)
		}
		if s := res[0].GetScore(); s < 0.370 || s > 0.372 {
			t.Fatalf("score of p4 = %v, want 0.371", s)
		}
	})
	t.Run("filter", func(t *testing.T) {
		res := query(t, &qdrant.QueryPoints{
			Filter:      &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchKeyword("tag", "b")}},
			WithPayload: qdrant.NewWithPayload(true),
		})
		if got := names(res); !slices.Equal(got, []string{"p2", "p1"}) {
			t.Fatalf("names = %v, want [p2 p1]", got)
		}
	})
	t.Run("payload and vectors on request only", func(t *testing.T) {
		res := query(t, &qdrant.QueryPoints{Limit: qdrant.PtrOf(uint64(1))})
		if len(res) != 1 || len(res[0].GetPayload()) != 0 || res[0].GetVectors() != nil {
			t.Fatalf("result = %v; want one point, no payload, no vectors", res)
		}
		res = query(t, &qdrant.QueryPoints{Limit: qdrant.PtrOf(uint64(1)), WithPayload: qdrant.NewWithPayloadInclude("n"), WithVectors: qdrant.NewWithVectors(true)})
		if p := res[0].GetPayload(); len(p) != 1 || p["n"].GetIntegerValue() != 4 {
			t.Fatalf("payload = %v; want only n=4", p)
		}
		v := res[0].GetVectors().GetVector().GetDense().GetData()
		if len(v) != 3 || v[0] < 0.928 || v[0] > 0.929 { // [1, 0.4, 0] normalised
			t.Fatalf("vector = %v; want [0.928 0.371 0]", v)
		}
		if id := res[0].GetId().GetUuid(); id != ids[4] {
			t.Fatalf("id = %q, want %q", id, ids[4])
		}
	})
}

func TestWrites(t *testing.T) {
	f := newFixture(t, qdranttest.Start(t))
	ctx := ctxT(t)
	t.Run("wrong dimension", func(t *testing.T) {
		_, err := f.c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: f.name, Wait: qdrant.PtrOf(true), Points: []*qdrant.PointStruct{
			{Id: qdrant.NewIDNum(9), Vectors: qdrant.NewVectors(1, 2)},
		}})
		if status.Code(err) != codes.InvalidArgument {
			t.Fatalf("upsert of a 2-d vector = %v; want InvalidArgument", err)
		}
	})
	t.Run("missing collection", func(t *testing.T) {
		_, err := f.c.Count(ctx, &qdrant.CountPoints{CollectionName: f.name + "_nope"})
		if status.Code(err) != codes.NotFound {
			t.Fatalf("count on a missing collection = %v; want NotFound", err)
		}
	})
	t.Run("duplicate collection", func(t *testing.T) {
		err := f.c.CreateCollection(ctx, &qdrant.CreateCollection{
			CollectionName: f.name,
			VectorsConfig:  qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 3, Distance: qdrant.Distance_Cosine}),
		})
		if err == nil {
			t.Fatal("creating an existing collection succeeded")
		}
	})
	t.Run("delete by filter and by id", func(t *testing.T) {
		_, err := f.c.Delete(ctx, &qdrant.DeletePoints{CollectionName: f.name, Wait: qdrant.PtrOf(true),
			Points: qdrant.NewPointsSelectorFilter(&qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewRange("n", &qdrant.Range{Lt: qdrant.PtrOf(3.0)})}})})
		if err != nil {
			t.Fatal(err)
		}
		if n := f.count(t, nil); n != 2 {
			t.Fatalf("count after deleting n<3 = %d, want 2", n)
		}
		_, err = f.c.Delete(ctx, &qdrant.DeletePoints{CollectionName: f.name, Wait: qdrant.PtrOf(true), Points: qdrant.NewPointsSelector(qdrant.NewID(ids[3]))})
		if err != nil {
			t.Fatal(err)
		}
		if n := f.count(t, nil); n != 1 {
			t.Fatalf("count after deleting id 3 = %d, want 1", n)
		}
	})
}

// TestUnimplemented checks that the double refuses what it does not implement instead of
// answering something plausible. Only the double: Qdrant implements all of this.
func TestUnimplemented(t *testing.T) {
	f := newFixture(t, qdranttest.NewServer(t).URL())
	ctx := ctxT(t)
	calls := map[string]func() error{
		"text match": func() error {
			_, err := f.c.Count(ctx, &qdrant.CountPoints{CollectionName: f.name, Filter: &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchText("name", "p")}}})
			return err
		},
		"nested key": func() error {
			_, err := f.c.Count(ctx, &qdrant.CountPoints{CollectionName: f.name, Filter: &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchKeyword("a.b", "p")}}})
			return err
		},
		"recommend query": func() error {
			_, err := f.c.Query(ctx, &qdrant.QueryPoints{CollectionName: f.name, Query: qdrant.NewQueryRecommend(&qdrant.RecommendInput{})})
			return err
		},
		"legacy search": func() error {
			_, err := f.c.GetPointsClient().Search(ctx, &qdrant.SearchPoints{CollectionName: f.name, Vector: []float32{1, 0, 0}, Limit: 1})
			return err
		},
		"dot distance": func() error {
			return f.c.CreateCollection(ctx, &qdrant.CreateCollection{CollectionName: f.name + "_dot",
				VectorsConfig: qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 3, Distance: qdrant.Distance_Dot})})
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); status.Code(err) != codes.Unimplemented {
				t.Fatalf("%s = %v; want Unimplemented", name, err)
			}
		})
	}
}

func TestServerAPIKeyAndRestart(t *testing.T) {
	srv := qdranttest.NewServer(t, qdranttest.WithAPIKey("k"))
	c := qdranttest.Dial(t, srv.URL()) // no key
	ctx := ctxT(t)
	if _, err := c.HealthCheck(ctx); err != nil {
		t.Fatalf("health check without a key: %v (Qdrant leaves it open)", err)
	}
	if _, err := c.CollectionExists(ctx, "x"); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("call without a key = %v; want Unauthenticated", err)
	}
	url := srv.URL()
	srv.Stop()
	srv.Stop() // idempotent
	if _, err := c.HealthCheck(ctx); status.Code(err) != codes.Unavailable {
		t.Fatalf("health check while stopped = %v; want Unavailable", err)
	}
	srv.Start()
	if srv.URL() != url {
		t.Fatalf("restarted on %s; want %s", srv.URL(), url)
	}
	if n := srv.Calls("Qdrant/HealthCheck"); n < 1 {
		t.Fatalf("Calls(Qdrant/HealthCheck) = %d", n)
	}
}
