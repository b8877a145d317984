// Package qdranttest is a test double for Qdrant: an in-process gRPC server that
// implements the subset of Qdrant's API that stockagent calls (package
// stockagent/server/vectorstore), so the Qdrant back-end can be tested where no Qdrant
// server can be installed. It registers the services generated in
// github.com/qdrant/go-client (qdrant.QdrantServer, qdrant.CollectionsServer,
// qdrant.PointsServer) on a loopback port. What it implements:
//
//   - Qdrant/HealthCheck;
//   - Collections/CollectionExists, Get, Create and Delete, for collections of one unnamed
//     dense vector with cosine distance;
//   - Points/CreateFieldIndex (recorded and reported in the collection's payload schema),
//     Upsert, Delete (by IDs or by filter), Count and Query (nearest neighbours of a dense
//     vector, with filter, score threshold, limit, offset, and payload and vector
//     selection).
//
// It is honest about what it answers: vectors are normalised on insert as Qdrant does for
// cosine distance, searches are brute force over every point, and filters (must, should,
// must_not; match on keywords, integers and booleans; numeric ranges; is_empty, is_null,
// has_id) and the score threshold are evaluated by the server, not trusted to the client.
// Anything else (other calls, other query kinds, named or sparse vectors, nested keys,
// text matching) answers codes.Unimplemented rather than a guess. Writes apply at once,
// as with wait=true. It keeps no files: data lives until the test ends, across Stop and
// Start.
//
// Start returns the address to give vectorstore.Open: the server in QDRANT_URL_TEST when
// that is set (a real Qdrant), else a new double. Nothing here imports package
// vectorstore, so its tests can use this package.
package qdranttest

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/qdrant/go-client/qdrant"
)

// EnvURL names the environment variable that points tests at a real Qdrant's gRPC port,
// e.g. http://localhost:6334; EnvAPIKey names the one holding its API key, if it needs one.
const (
	EnvURL    = "QDRANT_URL_TEST"
	EnvAPIKey = "QDRANT_API_KEY_TEST"
)

// Start returns the gRPC address of a Qdrant for t: QDRANT_URL_TEST when set, else a new
// in-process double (see NewServer) that t's cleanup stops. Give tests sharing a server
// collections of their own (Collection).
func Start(t testing.TB) (url string) {
	t.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return NewServer(t).URL()
}

// Name names, for a test or subtest, the Qdrant that Start returns: "qdrant" for a real
// one at QDRANT_URL_TEST, else "qdrant-double", so a result never passes the double off
// as Qdrant.
func Name() string {
	if os.Getenv(EnvURL) != "" {
		return "qdrant"
	}
	return "qdrant-double"
}

// APIKey returns the API key for the server Start returns: QDRANT_API_KEY_TEST when
// QDRANT_URL_TEST is set, else "" (the double started by Start wants none).
func APIKey() string {
	if os.Getenv(EnvURL) == "" {
		return ""
	}
	return os.Getenv(EnvAPIKey)
}

// Dial returns Qdrant's own client for the server at url (as Start returns it), with
// APIKey; t's cleanup closes it. Tests use it to see what the server holds.
func Dial(t testing.TB, url string) *qdrant.Client {
	t.Helper()
	host, portStr, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://"))
	if err != nil {
		t.Fatalf("split %q: %v", url, err)
	}
	port, _ := strconv.Atoi(portStr)
	c, err := qdrant.NewClient(&qdrant.Config{
		Host: host, Port: port, APIKey: APIKey(), UseTLS: strings.HasPrefix(url, "https://"),
		SkipCompatibilityCheck: true, PoolSize: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

var unsafeNameChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// Collection returns a collection name unique to this call, "test_<test name>_<random>",
// so tests sharing one Qdrant never see each other's points. The caller drops it.
func Collection(t testing.TB) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("qdranttest: random collection name: %v", err)
	}
	name := unsafeNameChars.ReplaceAllString(t.Name(), "_")
	if len(name) > 200 {
		name = name[len(name)-200:]
	}
	return "test_" + name + "_" + hex.EncodeToString(b[:])
}
