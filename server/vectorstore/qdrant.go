package vectorstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"stockagent/server/redact"
)

// Payload fields of a Qdrant point. The scope's three fields and created_at_ms carry
// payload indexes (keyword and integer) because every search filters on them.
const (
	fieldTicker       = "ticker"
	fieldModelVersion = "model_version"
	fieldDataAsOf     = "data_as_of"
	fieldCreatedAt    = "created_at_ms" // Unix milliseconds: the same resolution as Memory
	fieldPayload      = "payload"       // the JSON answer, as a string
)

// qdrantGRPCPort is the port Qdrant serves gRPC on; qdrantRESTPort is its HTTP API, a
// common thing to configure by mistake.
const (
	qdrantGRPCPort = 6334
	qdrantRESTPort = 6333
)

// reconnectBackoff replaces gRPC's default reconnection backoff (up to 2 minutes between
// tries), so that the cache comes back within seconds of Qdrant coming back.
var reconnectBackoff = backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second}

// Qdrant is the Store kept in a Qdrant collection: one unnamed dense vector per point,
// cosine distance, and the payload fields ticker, model_version and data_as_of (keyword
// indexes), created_at_ms (integer index, Unix milliseconds) and payload (the JSON answer as
// a string). Searches are exact (no HNSW approximation): the collection is small and
// filtered by scope first.
//
// It needs Qdrant 1.10 or later (the Query API). It is safe for concurrent use. Create it
// with NewQdrant or Open; the zero Qdrant is not usable.
type Qdrant struct {
	client     *qdrant.Client
	collection string
	addr       string // host:port, for messages
	timeout    time.Duration

	// createMu serialises creating the collection when the first point fixes the dimension.
	createMu sync.Mutex

	// mu guards the fields below. Calls hold the read lock while they talk to Qdrant, so
	// Close waits for calls in flight (each bounded by the timeout) before closing the
	// connection under them.
	mu     sync.RWMutex
	dim    int  // 0 until known: the collection does not exist yet
	closed bool // set by Close
}

// NewQdrant connects to the Qdrant gRPC endpoint at rawURL and makes sure the collection
// (WithCollection, default DefaultCollection) is ready:
//
//   - the server must answer a health check, else the error wraps ErrUnavailable;
//   - a missing collection is created with dimension dim and cosine distance (with dim 0,
//     creation waits for the first Upsert, which fixes the dimension);
//   - an existing collection must hold one unnamed vector with cosine distance, and of
//     size dim when dim is non-zero, else the error says what differs (a *DimensionError
//     for the size); with dim 0 the store takes the collection's size;
//   - the payload indexes on ticker and created_at_ms are created if missing.
//
// rawURL is "http://host:port" (plain gRPC), "https://host:port" (TLS) or "host:port";
// the port defaults to 6334. ctx bounds the whole set-up; each call is also bounded by
// WithTimeout.
func NewQdrant(ctx context.Context, rawURL string, dim int, opts ...Option) (*Qdrant, error) {
	if dim < 0 {
		return nil, fmt.Errorf("vectorstore: qdrant open: negative dimension %d", dim)
	}
	c := newConfig(opts)
	host, port, useTLS, err := parseQdrantURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("vectorstore: qdrant open: %w", err)
	}
	client, err := qdrant.NewClient(&qdrant.Config{
		Host:                   host,
		Port:                   port,
		APIKey:                 c.apiKey,
		UseTLS:                 useTLS,
		SkipCompatibilityCheck: true, // it would log through slog's default logger; we check health ourselves
		PoolSize:               1,    // one HTTP/2 connection multiplexes our few calls
		GrpcOptions: []grpc.DialOption{
			grpc.WithConnectParams(grpc.ConnectParams{Backoff: reconnectBackoff, MinConnectTimeout: 5 * time.Second}),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("vectorstore: qdrant open %s: %w", redact.URL(rawURL), err)
	}
	q := &Qdrant{client: client, collection: c.collection, addr: net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port)), timeout: c.timeout}
	if err := q.setUp(ctx, dim); err != nil {
		_ = client.Close()
		if port == qdrantRESTPort {
			err = fmt.Errorf("%w (%d is Qdrant's REST port; its gRPC port is usually %d)", err, qdrantRESTPort, qdrantGRPCPort)
		}
		return nil, err
	}
	return q, nil
}

// setUp checks the server and the collection, as NewQdrant describes.
func (q *Qdrant) setUp(ctx context.Context, dim int) error {
	const what = "vectorstore: qdrant open"
	if err := q.Ping(ctx); err != nil {
		return err
	}
	cctx, cancel := q.callContext(ctx)
	exists, err := q.client.CollectionExists(cctx, q.collection)
	cancel()
	if err != nil {
		return q.wrap(ctx, what, err)
	}
	if !exists {
		if dim == 0 {
			return nil // created by the first Upsert
		}
		return q.create(ctx, dim)
	}
	return q.adopt(ctx, dim)
}

// create creates the collection with dimension dim, unless it appeared meanwhile (another
// server process got there first), then adopts it.
func (q *Qdrant) create(ctx context.Context, dim int) error {
	const what = "vectorstore: qdrant create collection"
	cctx, cancel := q.callContext(ctx)
	err := q.client.CreateCollection(cctx, &qdrant.CreateCollection{
		CollectionName: q.collection,
		VectorsConfig:  qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: uint64(dim), Distance: qdrant.Distance_Cosine}), //nolint:gosec // G115: Open refuses a negative dim
	})
	cancel()
	if err != nil {
		// Lost a race with another process? Then the collection exists now.
		cctx, cancel := q.callContext(ctx)
		exists, xerr := q.client.CollectionExists(cctx, q.collection)
		cancel()
		if xerr != nil || !exists {
			return q.wrap(ctx, fmt.Sprintf("%s %q", what, q.collection), err)
		}
	}
	return q.adopt(ctx, dim)
}

// adopt checks an existing collection against dim (0: any), creates the payload indexes
// it lacks, and records its dimension.
func (q *Qdrant) adopt(ctx context.Context, dim int) error {
	what := fmt.Sprintf("vectorstore: qdrant open collection %q", q.collection)
	cctx, cancel := q.callContext(ctx)
	info, err := q.client.GetCollectionInfo(cctx, q.collection)
	cancel()
	if err != nil {
		return q.wrap(ctx, what, err)
	}
	params := info.GetConfig().GetParams().GetVectorsConfig().GetParams()
	if params == nil {
		return fmt.Errorf("%s: it holds named vectors; want one unnamed vector (choose another collection with WithCollection)", what)
	}
	if params.GetDistance() != qdrant.Distance_Cosine {
		return fmt.Errorf("%s: distance is %v, want Cosine (choose another collection with WithCollection)", what, params.GetDistance())
	}
	size := int(params.GetSize()) //nolint:gosec // G115: a vector size, far below MaxInt
	if dim != 0 && size != dim {
		return fmt.Errorf("%s: %w (the embedding model changed? drop the collection, or choose another with WithCollection)",
			what, &DimensionError{Want: size, Got: dim, Where: fmt.Sprintf("collection %q", q.collection)})
	}
	indexes := []struct {
		field string
		typ   qdrant.FieldType
	}{
		{fieldTicker, qdrant.FieldType_FieldTypeKeyword},
		{fieldModelVersion, qdrant.FieldType_FieldTypeKeyword},
		{fieldDataAsOf, qdrant.FieldType_FieldTypeKeyword},
		{fieldCreatedAt, qdrant.FieldType_FieldTypeInteger},
	}
	for _, ix := range indexes {
		if _, ok := info.GetPayloadSchema()[ix.field]; ok {
			continue
		}
		cctx, cancel := q.callContext(ctx)
		_, err := q.client.CreateFieldIndex(cctx, &qdrant.CreateFieldIndexCollection{
			CollectionName: q.collection,
			Wait:           qdrant.PtrOf(true),
			FieldName:      ix.field,
			FieldType:      qdrant.PtrOf(ix.typ),
		})
		cancel()
		if err != nil {
			return q.wrap(ctx, fmt.Sprintf("%s: create index on %s", what, ix.field), err)
		}
	}
	q.mu.Lock()
	q.dim = size
	q.mu.Unlock()
	return nil
}

// parseQdrantURL reads "http://host:port", "https://host:port" or "host:port" (port
// default 6334) into what qdrant.Config wants. An IPv6 host keeps its brackets, since the
// client joins host and port with a bare colon.
func parseQdrantURL(raw string) (host string, port int, useTLS bool, err error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", 0, false, errors.New("empty Qdrant URL")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return "", 0, false, fmt.Errorf("bad Qdrant URL %q: %w", redact.URL(raw), err)
	}
	switch u.Scheme {
	case "http":
	case "https":
		useTLS = true
	default:
		return "", 0, false, fmt.Errorf("bad Qdrant URL %q: scheme %q (want http, https, or none)", redact.URL(raw), u.Scheme)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", 0, false, fmt.Errorf("bad Qdrant URL %q: want only a host and a port (the API key goes in QDRANT_API_KEY)", redact.URL(raw))
	}
	host = u.Hostname()
	if host == "" {
		return "", 0, false, fmt.Errorf("bad Qdrant URL %q: no host", redact.URL(raw))
	}
	port = qdrantGRPCPort
	if p := u.Port(); p != "" {
		port, err = strconv.Atoi(p)
		if err != nil || port <= 0 || port > 65535 {
			return "", 0, false, fmt.Errorf("bad Qdrant URL %q: port %q", redact.URL(raw), p)
		}
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host, port, useTLS, nil
}

// Name returns "qdrant".
func (q *Qdrant) Name() string { return "qdrant" }

// Close closes the connection, after the calls in flight return. It is idempotent.
func (q *Qdrant) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil
	}
	q.closed = true
	if err := q.client.Close(); err != nil {
		return fmt.Errorf("vectorstore: qdrant close: %w", err)
	}
	return nil
}

// begin takes the read lock for a call and returns the dimension; it fails after Close.
// The caller must call q.mu.RUnlock when it returns no error.
func (q *Qdrant) begin(what string) (int, error) {
	q.mu.RLock()
	if q.closed {
		q.mu.RUnlock()
		return 0, fmt.Errorf("%s: %w", what, ErrClosed)
	}
	return q.dim, nil
}

// callContext bounds one call by the store's timeout.
func (q *Qdrant) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, q.timeout)
}

// wrap turns a client error from what into ours: the caller's own cancellation stays a
// context error; a refused or lost connection, our timeout, or an overloaded server wraps
// ErrUnavailable; an error Qdrant answered with (bad request, unauthenticated, not found)
// stays as it is.
func (q *Qdrant) wrap(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	var exhausted *qdrant.QdrantResourceExhaustedError
	if errors.As(err, &exhausted) {
		return fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
	}
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted, codes.Canceled:
			return fmt.Errorf("%s: %w: %s at %s: %w", what, ErrUnavailable, st.Code(), q.addr, err)
		default:
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
}

// Ping runs Qdrant's health check.
func (q *Qdrant) Ping(ctx context.Context) error {
	const what = "vectorstore: qdrant ping"
	if _, err := q.begin(what); err != nil {
		return err
	}
	defer q.mu.RUnlock()
	cctx, cancel := q.callContext(ctx)
	defer cancel()
	if _, err := q.client.HealthCheck(cctx); err != nil {
		return q.wrap(ctx, what, err)
	}
	return nil
}

// Search runs one exact nearest-neighbour query, filtered by scope and creation time,
// with minScore as Qdrant's score threshold. Points written before scopes carry no
// model_version, so no filter matches them.
func (q *Qdrant) Search(ctx context.Context, scope Scope, vector []float32, since time.Time, minScore float64) (Hit, bool, error) {
	what := fmt.Sprintf("vectorstore: qdrant search %q", scope.Ticker)
	if err := scope.check(); err != nil {
		return Hit{}, false, fmt.Errorf("%s: %w", what, err)
	}
	vec, err := unitVector(vector)
	if err != nil {
		return Hit{}, false, fmt.Errorf("%s: %w", what, err)
	}
	dim, err := q.begin(what)
	if err != nil {
		return Hit{}, false, err
	}
	defer q.mu.RUnlock()
	if dim == 0 {
		return Hit{}, false, nil // no collection yet
	}
	if len(vec) != dim {
		return Hit{}, false, fmt.Errorf("%s: %w", what, &DimensionError{Want: dim, Got: len(vec)})
	}
	filter := &qdrant.Filter{Must: []*qdrant.Condition{
		qdrant.NewMatchKeyword(fieldTicker, scope.Ticker),
		qdrant.NewMatchKeyword(fieldModelVersion, scope.ModelVersion),
		qdrant.NewMatchKeyword(fieldDataAsOf, scope.DataAsOf),
	}}
	if !since.IsZero() {
		filter.Must = append(filter.Must, qdrant.NewRange(fieldCreatedAt, &qdrant.Range{Gte: qdrant.PtrOf(float64(since.UnixMilli()))}))
	}
	cctx, cancel := q.callContext(ctx)
	defer cancel()
	res, err := q.client.Query(cctx, &qdrant.QueryPoints{
		CollectionName: q.collection,
		Query:          qdrant.NewQueryDense(vec),
		Filter:         filter,
		Params:         &qdrant.SearchParams{Exact: qdrant.PtrOf(true)},
		ScoreThreshold: qdrant.PtrOf(float32(minScore)),
		Limit:          qdrant.PtrOf(uint64(1)),
		WithPayload:    qdrant.NewWithPayload(true),
		WithVectors:    qdrant.NewWithVectors(true),
	})
	if err != nil {
		return Hit{}, false, q.wrap(ctx, what, err)
	}
	if len(res) == 0 {
		return Hit{}, false, nil
	}
	sp := res[0]
	p, err := pointFromQdrant(sp.GetId(), sp.GetPayload(), sp.GetVectors())
	if err != nil {
		return Hit{}, false, fmt.Errorf("%s: %w", what, err)
	}
	// Qdrant applies the threshold to its own float32 score; recheck ours, which is
	// what the caller asked about.
	if float64(sp.GetScore()) < minScore {
		return Hit{}, false, nil
	}
	return Hit{Point: p, Score: float64(sp.GetScore())}, true, nil
}

// pointFromQdrant reads a point written by Upsert.
func pointFromQdrant(id *qdrant.PointId, payload map[string]*qdrant.Value, vectors *qdrant.VectorsOutput) (Point, error) {
	uuid := id.GetUuid()
	if uuid == "" {
		return Point{}, fmt.Errorf("point %v has no UUID: not written by this package", id)
	}
	ticker, ok := payload[fieldTicker].GetKind().(*qdrant.Value_StringValue)
	if !ok {
		return Point{}, fmt.Errorf("point %s has no string %q field: not written by this package", uuid, fieldTicker)
	}
	created, ok := payload[fieldCreatedAt].GetKind().(*qdrant.Value_IntegerValue)
	if !ok {
		return Point{}, fmt.Errorf("point %s has no integer %q field: not written by this package", uuid, fieldCreatedAt)
	}
	p := Point{ID: uuid, CreatedAt: time.UnixMilli(created.IntegerValue).UTC(), Scope: Scope{
		Ticker:       ticker.StringValue,
		ModelVersion: payload[fieldModelVersion].GetStringValue(),
		DataAsOf:     payload[fieldDataAsOf].GetStringValue(),
	}}
	if s := payload[fieldPayload].GetStringValue(); s != "" {
		p.Payload = []byte(s)
	}
	if v := vectors.GetVector(); v != nil {
		if d := v.GetDense(); d != nil {
			p.Vector = d.GetData()
		} else {
			p.Vector = v.GetData() //nolint:staticcheck // servers before 1.13 fill only the deprecated field
		}
	}
	return p, nil
}

// Upsert writes p and waits until Qdrant has applied it. The first point of a store opened
// with dimension 0 on a missing collection creates the collection.
func (q *Qdrant) Upsert(ctx context.Context, p Point) error {
	what := fmt.Sprintf("vectorstore: qdrant upsert %q", p.Ticker)
	sp, err := prepare(p, time.Now())
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	dim, err := q.begin(what)
	if err != nil {
		return err
	}
	if dim == 0 {
		q.mu.RUnlock()
		if err := q.createFor(ctx, len(sp.Vector)); err != nil {
			return err
		}
		if dim, err = q.begin(what); err != nil {
			return err
		}
	}
	defer q.mu.RUnlock()
	if len(sp.Vector) != dim {
		return fmt.Errorf("%s: %w", what, &DimensionError{Want: dim, Got: len(sp.Vector)})
	}
	cctx, cancel := q.callContext(ctx)
	defer cancel()
	_, err = q.client.Upsert(cctx, &qdrant.UpsertPoints{
		CollectionName: q.collection,
		Wait:           qdrant.PtrOf(true),
		Points: []*qdrant.PointStruct{{
			Id:      qdrant.NewIDUUID(sp.ID),
			Vectors: qdrant.NewVectorsDense(sp.Vector),
			Payload: map[string]*qdrant.Value{
				fieldTicker:       qdrant.NewValueString(sp.Ticker),
				fieldModelVersion: qdrant.NewValueString(sp.ModelVersion),
				fieldDataAsOf:     qdrant.NewValueString(sp.DataAsOf),
				fieldCreatedAt:    qdrant.NewValueInt(sp.ms),
				fieldPayload:      qdrant.NewValueString(string(sp.Payload)),
			},
		}},
	})
	if err != nil {
		return q.wrap(ctx, what, err)
	}
	return nil
}

// createFor creates the collection with dimension dim unless it is known already.
func (q *Qdrant) createFor(ctx context.Context, dim int) error {
	q.createMu.Lock()
	defer q.createMu.Unlock()
	if _, err := q.begin("vectorstore: qdrant create collection"); err != nil {
		return err
	}
	known := q.dim != 0
	q.mu.RUnlock()
	if known {
		return nil
	}
	// A collection created by another process since Open is adopted as it is; the
	// dimension check then happens in Upsert.
	cctx, cancel := q.callContext(ctx)
	exists, err := q.client.CollectionExists(cctx, q.collection)
	cancel()
	if err != nil {
		return q.wrap(ctx, "vectorstore: qdrant create collection", err)
	}
	if exists {
		return q.adopt(ctx, 0)
	}
	return q.create(ctx, dim)
}

// DeleteBefore counts the points created before t, then deletes them with one filtered
// delete.
func (q *Qdrant) DeleteBefore(ctx context.Context, t time.Time) (int, error) {
	filter := &qdrant.Filter{Must: []*qdrant.Condition{
		qdrant.NewRange(fieldCreatedAt, &qdrant.Range{Lt: qdrant.PtrOf(float64(t.UnixMilli()))}),
	}}
	return q.deleteWhere(ctx, "vectorstore: qdrant delete-before", filter)
}

// Clear deletes every point with an empty filter, keeping the collection and its indexes.
func (q *Qdrant) Clear(ctx context.Context) (int, error) {
	return q.deleteWhere(ctx, "vectorstore: qdrant clear", &qdrant.Filter{})
}

func (q *Qdrant) deleteWhere(ctx context.Context, what string, filter *qdrant.Filter) (int, error) {
	dim, err := q.begin(what)
	if err != nil {
		return 0, err
	}
	defer q.mu.RUnlock()
	if dim == 0 {
		return 0, nil
	}
	n, err := q.count(ctx, what, filter)
	if err != nil || n == 0 {
		return 0, err
	}
	cctx, cancel := q.callContext(ctx)
	defer cancel()
	_, err = q.client.Delete(cctx, &qdrant.DeletePoints{
		CollectionName: q.collection,
		Wait:           qdrant.PtrOf(true),
		Points:         qdrant.NewPointsSelectorFilter(filter),
	})
	if err != nil {
		return 0, q.wrap(ctx, what, err)
	}
	return n, nil
}

// Count returns the exact number of points.
func (q *Qdrant) Count(ctx context.Context) (int, error) {
	const what = "vectorstore: qdrant count"
	dim, err := q.begin(what)
	if err != nil {
		return 0, err
	}
	defer q.mu.RUnlock()
	if dim == 0 {
		return 0, nil
	}
	return q.count(ctx, what, &qdrant.Filter{})
}

// count is the exact number of points filter matches; the caller holds q.mu.
func (q *Qdrant) count(ctx context.Context, what string, filter *qdrant.Filter) (int, error) {
	cctx, cancel := q.callContext(ctx)
	defer cancel()
	n, err := q.client.Count(cctx, &qdrant.CountPoints{CollectionName: q.collection, Filter: filter, Exact: qdrant.PtrOf(true)})
	if err != nil {
		return 0, q.wrap(ctx, what, err)
	}
	return int(n), nil //nolint:gosec // G115: a count of stored points, far below MaxInt
}

// Drop deletes the collection with everything in it, for tests and for an operator who
// starts over after changing the embedding model. Close the store afterwards: it does not
// recreate the collection.
func (q *Qdrant) Drop(ctx context.Context) error {
	what := fmt.Sprintf("vectorstore: qdrant drop collection %q", q.collection)
	if _, err := q.begin(what); err != nil {
		return err
	}
	defer q.mu.RUnlock()
	cctx, cancel := q.callContext(ctx)
	defer cancel()
	if err := q.client.DeleteCollection(cctx, q.collection); err != nil {
		return q.wrap(ctx, what, err)
	}
	return nil
}
