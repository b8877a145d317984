package vectorstore

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// NewID returns a random (version 4) UUID for Point.ID.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

// canonicalID returns id in lower case if it is a UUID in canonical form
// (8-4-4-4-12 hexadecimal digits), which is what Qdrant hands back.
func canonicalID(id string) (string, error) {
	if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
		return "", fmt.Errorf("id %q is not a UUID (want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", id)
	}
	var b [16]byte
	hexPart := []byte(id[0:8] + id[9:13] + id[14:18] + id[19:23] + id[24:36])
	if _, err := hex.Decode(b[:], hexPart); err != nil {
		return "", fmt.Errorf("id %q is not a UUID: %w", id, err)
	}
	return formatUUID(b), nil
}

// unitVector returns a copy of v scaled to length 1, or an error when v is empty, zero,
// or not finite (cosine similarity is undefined there).
func unitVector(v []float32) ([]float32, error) {
	if len(v) == 0 {
		return nil, errors.New("empty vector")
	}
	var sum float64
	for i, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("vector element %d is %v", i, x)
		}
		sum += f * f
	}
	if sum == 0 {
		return nil, errors.New("zero vector")
	}
	norm := math.Sqrt(sum)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / norm)
	}
	return out, nil
}

// dot is the dot product of two vectors of equal length, summed in float64; for unit
// vectors it is their cosine similarity.
func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// prepared is a Point checked and brought into the stored form: canonical ID, unit
// vector, creation time in whole milliseconds, payload copied.
type prepared struct {
	Point
	ms int64 // CreatedAt in Unix milliseconds
}

// prepare checks p and returns its stored form; now stands in for a zero CreatedAt.
// It does not check the dimension, which only the store knows.
func prepare(p Point, now time.Time) (prepared, error) {
	id, err := canonicalID(p.ID)
	if err != nil {
		return prepared{}, err
	}
	if err := p.check(); err != nil {
		return prepared{}, err
	}
	vec, err := unitVector(p.Vector)
	if err != nil {
		return prepared{}, err
	}
	if len(p.Payload) > 0 && !json.Valid(p.Payload) {
		return prepared{}, errors.New("payload is not valid JSON")
	}
	created := p.CreatedAt
	if created.IsZero() {
		created = now
	}
	ms := created.UnixMilli()
	var payload json.RawMessage
	if len(p.Payload) > 0 {
		payload = bytes.Clone(p.Payload)
	}
	return prepared{
		Point: Point{ID: id, Scope: p.Scope, Vector: vec, CreatedAt: time.UnixMilli(ms).UTC(), Payload: payload},
		ms:    ms,
	}, nil
}

// sinceMillis is the lower bound of a search in Unix milliseconds; math.MinInt64 for a
// zero since (any age).
func sinceMillis(since time.Time) int64 {
	if since.IsZero() {
		return math.MinInt64
	}
	return since.UnixMilli()
}
