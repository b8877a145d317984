package qdranttest

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Version is what the double's health check reports: the Qdrant release whose API it
// follows (that of the go-client version in go.mod).
const Version = "1.17.0"

// Server is an in-process Qdrant double owned by one test. Stop and Start take it away
// and bring it back on the same port, with its data, to test outages. Its methods are
// safe for concurrent use; they report failures through the test that created it.
type Server struct {
	t      testing.TB
	apiKey string
	db     *db

	mu    sync.Mutex
	addr  string         // guarded by mu; host:port, fixed by the first start
	srv   *grpc.Server   // guarded by mu; nil while stopped
	calls map[string]int // guarded by mu; by method, e.g. "Points/Query"
}

// Option configures NewServer.
type Option func(*Server)

// WithAPIKey makes the server refuse calls that do not carry key in the api-key header,
// with codes.Unauthenticated, as Qdrant does. The health check stays open, as in Qdrant.
func WithAPIKey(key string) Option {
	return func(s *Server) { s.apiKey = key }
}

// NewServer starts a double on a free loopback port and stops it in t's cleanup. It
// ignores QDRANT_URL_TEST: use it when the test must control the server (Stop, Start,
// Calls, an API key).
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{t: t, db: &db{collections: make(map[string]*collection)}, calls: make(map[string]int)}
	for _, o := range opts {
		o(s)
	}
	t.Cleanup(s.Stop)
	s.Start()
	return s
}

// URL is the address to give vectorstore.Open: "http://127.0.0.1:<port>".
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "http://" + s.addr
}

// Start serves again after Stop, on the same port (the first call picks a free one).
// It does nothing while the server runs.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return
	}
	addr := s.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	// The port was ours a moment ago; after Stop the kernel may take a little while to
	// let it go.
	var l net.Listener
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if l, err = net.Listen("tcp", addr); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		s.t.Fatalf("qdranttest: listen on %s: %v", addr, err)
	}
	s.addr = l.Addr().String()
	s.srv = grpc.NewServer(
		grpc.ChainUnaryInterceptor(s.count, s.authenticate),
		// The client pings an idle connection every 10 s; grpc-go's default policy would
		// answer that with GOAWAY "too many pings".
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	)
	qdrant.RegisterQdrantServer(s.srv, healthService{})
	qdrant.RegisterCollectionsServer(s.srv, collectionsService{db: s.db})
	qdrant.RegisterPointsServer(s.srv, pointsService{db: s.db})
	go func(srv *grpc.Server) { _ = srv.Serve(l) }(s.srv)
}

// Stop closes the listener and every connection at once, as a crashed server would;
// the data stays for Start. It is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Stop()
	}
}

// Calls returns how many calls the server received for method, named as
// "Service/Method", e.g. "Points/Query" or "Collections/Create".
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// Len returns the number of points in collection; 0 if it does not exist.
func (s *Server) Len(collection string) int {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	if c, ok := s.db.collections[collection]; ok {
		return len(c.points)
	}
	return 0
}

func (s *Server) count(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	name := strings.TrimPrefix(info.FullMethod, "/qdrant.")
	s.mu.Lock()
	s.calls[name]++
	s.mu.Unlock()
	return handler(ctx, req)
}

func (s *Server) authenticate(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if s.apiKey != "" && info.FullMethod != qdrant.Qdrant_HealthCheck_FullMethodName {
		md, _ := metadata.FromIncomingContext(ctx)
		if keys := md.Get("api-key"); len(keys) != 1 || keys[0] != s.apiKey {
			return nil, status.Error(codes.Unauthenticated, "Invalid api-key")
		}
	}
	return handler(ctx, req)
}

// db is the double's data: collections by name, all under one lock.
type db struct {
	mu          sync.Mutex
	collections map[string]*collection // guarded by mu
}

type collection struct {
	dim     int
	indexes map[string]qdrant.PayloadSchemaType
	points  map[string]*storedPoint // by pointKey
}

type storedPoint struct {
	key     string // pointKey(id)
	id      *qdrant.PointId
	vector  []float32 // unit length
	payload map[string]*qdrant.Value
}

// get returns the collection called name or a NotFound error worded as Qdrant's;
// db.mu must be held.
func (d *db) get(name string) (*collection, error) {
	c, ok := d.collections[name]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Not found: Collection `%s` doesn't exist!", name)
	}
	return c, nil
}

// pointKey is a map key for a point ID: "uuid:<canonical uuid>" or "num:<n>".
func pointKey(id *qdrant.PointId) (string, error) {
	switch v := id.GetPointIdOptions().(type) {
	case *qdrant.PointId_Num:
		return "num:" + strconv.FormatUint(v.Num, 10), nil
	case *qdrant.PointId_Uuid:
		u, err := canonicalUUID(v.Uuid)
		if err != nil {
			return "", err
		}
		return "uuid:" + u, nil
	}
	return "", status.Error(codes.InvalidArgument, "qdranttest: point without an id")
}

// canonicalUUID accepts a UUID with or without hyphens and returns it hyphenated, in lower
// case, as Qdrant hands IDs back.
func canonicalUUID(s string) (string, error) {
	h := strings.ReplaceAll(s, "-", "")
	var b [16]byte
	if len(h) != 32 {
		return "", status.Errorf(codes.InvalidArgument, "Unable to parse UUID: %s", s)
	}
	if _, err := hex.Decode(b[:], []byte(h)); err != nil {
		return "", status.Errorf(codes.InvalidArgument, "Unable to parse UUID: %s", s)
	}
	x := hex.EncodeToString(b[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32], nil
}

// unit returns v scaled to length 1, as Qdrant stores vectors of a cosine collection
// (a zero vector stays zero).
func unit(v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	if sum == 0 {
		return out
	}
	n := math.Sqrt(sum)
	for i, x := range v {
		out[i] = float32(float64(x) / n)
	}
	return out
}

// denseVector extracts the single unnamed dense vector of a point being written.
func denseVector(v *qdrant.Vectors) ([]float32, error) {
	vec := v.GetVector()
	if vec == nil {
		if v.GetVectors() != nil {
			return nil, unimplemented("named vectors")
		}
		return nil, status.Error(codes.InvalidArgument, "qdranttest: point without a vector")
	}
	switch {
	case vec.GetDense() != nil:
		return vec.GetDense().GetData(), nil
	case vec.GetVector() == nil && len(vec.GetData()) > 0: //nolint:staticcheck // the deprecated form older clients send
		return vec.GetData(), nil //nolint:staticcheck
	}
	return nil, unimplemented("vectors other than dense")
}

func typeName(v any) string { return fmt.Sprintf("%T", v) }

// healthService implements qdrant.QdrantServer.
type healthService struct {
	qdrant.UnimplementedQdrantServer
}

func (healthService) HealthCheck(context.Context, *qdrant.HealthCheckRequest) (*qdrant.HealthCheckReply, error) {
	commit := "qdranttest"
	return &qdrant.HealthCheckReply{Title: "qdrant - vector search engine (qdranttest double)", Version: Version, Commit: &commit}, nil
}

// collectionsService implements the collection calls of qdrant.CollectionsServer.
type collectionsService struct {
	qdrant.UnimplementedCollectionsServer
	db *db
}

func (s collectionsService) CollectionExists(_ context.Context, req *qdrant.CollectionExistsRequest) (*qdrant.CollectionExistsResponse, error) {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	_, ok := s.db.collections[req.GetCollectionName()]
	return &qdrant.CollectionExistsResponse{Result: &qdrant.CollectionExists{Exists: ok}}, nil
}

func (s collectionsService) Get(_ context.Context, req *qdrant.GetCollectionInfoRequest) (*qdrant.GetCollectionInfoResponse, error) {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	c, err := s.db.get(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	schema := make(map[string]*qdrant.PayloadSchemaInfo, len(c.indexes))
	for field, typ := range c.indexes {
		n := uint64(0)
		for _, p := range c.points {
			if vals, _ := fieldValues(p, field); len(vals) > 0 {
				n++
			}
		}
		schema[field] = &qdrant.PayloadSchemaInfo{DataType: typ, Points: &n}
	}
	count := uint64(len(c.points))
	return &qdrant.GetCollectionInfoResponse{Result: &qdrant.CollectionInfo{
		Status:          qdrant.CollectionStatus_Green,
		OptimizerStatus: &qdrant.OptimizerStatus{Ok: true},
		SegmentsCount:   1,
		Config: &qdrant.CollectionConfig{Params: &qdrant.CollectionParams{
			ShardNumber:   1,
			VectorsConfig: qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: uint64(c.dim), Distance: qdrant.Distance_Cosine}),
		}},
		PayloadSchema: schema,
		PointsCount:   &count,
	}}, nil
}

func (s collectionsService) Create(_ context.Context, req *qdrant.CreateCollection) (*qdrant.CollectionOperationResponse, error) {
	name := req.GetCollectionName()
	if name == "" || len(name) > 255 || strings.ContainsAny(name, `/\:*?"<>|`+"\x00") {
		return nil, status.Errorf(codes.InvalidArgument, "Wrong input: bad collection name %q", name)
	}
	if req.GetSparseVectorsConfig() != nil {
		return nil, unimplemented("sparse vectors")
	}
	params := req.GetVectorsConfig().GetParams()
	switch {
	case req.GetVectorsConfig().GetParamsMap() != nil:
		return nil, unimplemented("named vectors")
	case params == nil:
		return nil, unimplemented("a collection without vectors")
	case params.GetSize() == 0:
		return nil, status.Error(codes.InvalidArgument, "Wrong input: vector size must be positive")
	case params.GetDistance() != qdrant.Distance_Cosine:
		return nil, unimplemented("distance " + params.GetDistance().String())
	case params.MultivectorConfig != nil || params.Datatype != nil:
		return nil, unimplemented("multivectors and vector data types")
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	if _, ok := s.db.collections[name]; ok {
		return nil, status.Errorf(codes.InvalidArgument, "Wrong input: Collection `%s` already exists!", name)
	}
	s.db.collections[name] = &collection{
		dim:     int(params.GetSize()),
		indexes: make(map[string]qdrant.PayloadSchemaType),
		points:  make(map[string]*storedPoint),
	}
	return &qdrant.CollectionOperationResponse{Result: true}, nil
}

func (s collectionsService) Delete(_ context.Context, req *qdrant.DeleteCollection) (*qdrant.CollectionOperationResponse, error) {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	_, ok := s.db.collections[req.GetCollectionName()]
	delete(s.db.collections, req.GetCollectionName())
	return &qdrant.CollectionOperationResponse{Result: ok}, nil
}

// pointsService implements the point calls of qdrant.PointsServer.
type pointsService struct {
	qdrant.UnimplementedPointsServer
	db *db
}

// completed is the answer to a write applied at once.
func completed() *qdrant.PointsOperationResponse {
	return &qdrant.PointsOperationResponse{Result: &qdrant.UpdateResult{Status: qdrant.UpdateStatus_Completed}}
}

func (s pointsService) CreateFieldIndex(_ context.Context, req *qdrant.CreateFieldIndexCollection) (*qdrant.PointsOperationResponse, error) {
	if req.FieldType == nil {
		return nil, status.Error(codes.InvalidArgument, "qdranttest: field_type is required")
	}
	if err := checkKey(req.GetFieldName()); err != nil {
		return nil, err
	}
	// FieldType and PayloadSchemaType list the same kinds, the latter with
	// UnknownType first.
	typ := qdrant.PayloadSchemaType(req.GetFieldType() + 1)
	if _, ok := qdrant.PayloadSchemaType_name[int32(typ)]; !ok {
		return nil, status.Errorf(codes.InvalidArgument, "qdranttest: unknown field type %v", req.GetFieldType())
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	c, err := s.db.get(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	c.indexes[req.GetFieldName()] = typ
	return completed(), nil
}

func (s pointsService) Upsert(_ context.Context, req *qdrant.UpsertPoints) (*qdrant.PointsOperationResponse, error) {
	if req.UpdateFilter != nil || req.UpdateMode != nil || req.ShardKeySelector != nil {
		return nil, unimplemented("conditional upserts and shard keys")
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	c, err := s.db.get(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	// Check every point before applying any, so a bad batch changes nothing.
	batch := make([]*storedPoint, 0, len(req.GetPoints()))
	for _, p := range req.GetPoints() {
		key, err := pointKey(p.GetId())
		if err != nil {
			return nil, err
		}
		vec, err := denseVector(p.GetVectors())
		if err != nil {
			return nil, err
		}
		if len(vec) != c.dim {
			return nil, status.Errorf(codes.InvalidArgument, "Wrong input: Vector dimension error: expected dim: %d, got %d", c.dim, len(vec))
		}
		id := p.GetId()
		if u, ok := id.GetPointIdOptions().(*qdrant.PointId_Uuid); ok {
			canon, _ := canonicalUUID(u.Uuid)
			id = qdrant.NewIDUUID(canon)
		}
		payload := make(map[string]*qdrant.Value, len(p.GetPayload()))
		for k, v := range p.GetPayload() {
			payload[k] = proto.Clone(v).(*qdrant.Value)
		}
		batch = append(batch, &storedPoint{key: key, id: proto.Clone(id).(*qdrant.PointId), vector: unit(vec), payload: payload})
	}
	for _, p := range batch {
		c.points[p.key] = p
	}
	return completed(), nil
}

func (s pointsService) Delete(_ context.Context, req *qdrant.DeletePoints) (*qdrant.PointsOperationResponse, error) {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	c, err := s.db.get(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	switch sel := req.GetPoints().GetPointsSelectorOneOf().(type) {
	case *qdrant.PointsSelector_Points:
		for _, id := range sel.Points.GetIds() {
			key, err := pointKey(id)
			if err != nil {
				return nil, err
			}
			delete(c.points, key)
		}
	case *qdrant.PointsSelector_Filter:
		var doomed []string
		for key, p := range c.points {
			ok, err := matches(sel.Filter, p)
			if err != nil {
				return nil, err
			}
			if ok {
				doomed = append(doomed, key)
			}
		}
		for _, key := range doomed {
			delete(c.points, key)
		}
	default:
		return nil, status.Error(codes.InvalidArgument, "qdranttest: delete without a points selector")
	}
	return completed(), nil
}

func (s pointsService) Count(_ context.Context, req *qdrant.CountPoints) (*qdrant.CountResponse, error) {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	c, err := s.db.get(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	var n uint64
	for _, p := range c.points {
		ok, err := matches(req.GetFilter(), p)
		if err != nil {
			return nil, err
		}
		if ok {
			n++
		}
	}
	return &qdrant.CountResponse{Result: &qdrant.CountResult{Count: n}}, nil
}

// Query answers a nearest-neighbour query on the unnamed dense vector by brute force:
// filter first, then cosine score, then the threshold, best first, then offset and limit.
func (s pointsService) Query(_ context.Context, req *qdrant.QueryPoints) (*qdrant.QueryResponse, error) {
	switch {
	case len(req.GetPrefetch()) > 0:
		return nil, unimplemented("prefetch")
	case req.GetUsing() != "":
		return nil, unimplemented("named vectors")
	case req.LookupFrom != nil || req.ShardKeySelector != nil:
		return nil, unimplemented("lookup_from and shard keys")
	case req.GetQuery() == nil:
		return nil, unimplemented("a query without a query vector (scroll by ID)")
	}
	nearest := req.GetQuery().GetNearest()
	if nearest == nil {
		return nil, unimplemented("query " + strings.TrimPrefix(typeName(req.GetQuery().GetVariant()), "*qdrant.Query_"))
	}
	dense := nearest.GetDense()
	if dense == nil {
		return nil, unimplemented("a nearest query other than a dense vector")
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	c, err := s.db.get(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if len(dense.GetData()) != c.dim {
		return nil, status.Errorf(codes.InvalidArgument, "Wrong input: Vector dimension error: expected dim: %d, got %d", c.dim, len(dense.GetData()))
	}
	q := unit(dense.GetData())
	type scored struct {
		p     *storedPoint
		score float32
	}
	var found []scored
	for _, p := range c.points {
		ok, err := matches(req.GetFilter(), p)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		var dot float32
		for i := range q {
			dot += q[i] * p.vector[i]
		}
		if req.ScoreThreshold != nil && dot < req.GetScoreThreshold() {
			continue
		}
		found = append(found, scored{p, dot})
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].score != found[j].score {
			return found[i].score > found[j].score
		}
		return found[i].p.key < found[j].p.key
	})
	limit := uint64(10)
	if req.Limit != nil {
		limit = req.GetLimit()
	}
	offset := min(req.GetOffset(), uint64(len(found)))
	found = found[offset:]
	if uint64(len(found)) > limit {
		found = found[:limit]
	}
	res := &qdrant.QueryResponse{Result: make([]*qdrant.ScoredPoint, 0, len(found))}
	for _, f := range found {
		sp := &qdrant.ScoredPoint{Id: proto.Clone(f.p.id).(*qdrant.PointId), Score: f.score}
		sp.Payload, err = selectPayload(req.GetWithPayload(), f.p.payload)
		if err != nil {
			return nil, err
		}
		switch sel := req.GetWithVectors().GetSelectorOptions().(type) {
		case nil:
		case *qdrant.WithVectorsSelector_Enable:
			if sel.Enable {
				sp.Vectors = &qdrant.VectorsOutput{VectorsOptions: &qdrant.VectorsOutput_Vector{Vector: &qdrant.VectorOutput{
					Vector: &qdrant.VectorOutput_Dense{Dense: &qdrant.DenseVector{Data: append([]float32(nil), f.p.vector...)}},
				}}}
			}
		default:
			return nil, unimplemented("with_vectors by name")
		}
		res.Result = append(res.Result, sp)
	}
	return res, nil
}

// selectPayload applies a with_payload selector: none when absent or false, all when
// true, or the fields included or not excluded.
func selectPayload(sel *qdrant.WithPayloadSelector, payload map[string]*qdrant.Value) (map[string]*qdrant.Value, error) {
	keep := func(string) bool { return false }
	switch o := sel.GetSelectorOptions().(type) {
	case nil:
	case *qdrant.WithPayloadSelector_Enable:
		keep = func(string) bool { return o.Enable }
	case *qdrant.WithPayloadSelector_Include:
		keep = func(k string) bool { return slices.Contains(o.Include.GetFields(), k) }
	case *qdrant.WithPayloadSelector_Exclude:
		keep = func(k string) bool { return !slices.Contains(o.Exclude.GetFields(), k) }
	default:
		return nil, unimplemented("with_payload selector " + typeName(o))
	}
	out := make(map[string]*qdrant.Value)
	for k, v := range payload {
		if keep(k) {
			out[k] = proto.Clone(v).(*qdrant.Value)
		}
	}
	return out, nil
}
