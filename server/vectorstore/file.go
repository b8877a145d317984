package vectorstore

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"sort"
	"time"

	"stockagent/server/atomicfile"
)

// fileVersion is the format of Memory's file. A file of another version is treated as
// corrupt (moved aside), which is right for a cache.
const fileVersion = 1

// fileData is Memory's file: JSON, so a person can read it, with each vector as base64
// of its little-endian float32s, which is exact and about a quarter the size of decimals.
//
//	{"version":1,"dim":384,"points":[{"id":"…","ticker":"AAPL","model_version":"v3",
//	  "data_as_of":"2025-01-02","created_at":"2025-01-02T03:04:05.678Z","vector":"AAB…",
//	  "payload":{…}}]}
type fileData struct {
	Version int         `json:"version"`
	Dim     int         `json:"dim"`
	Points  []filePoint `json:"points"`
}

type filePoint struct {
	ID           string          `json:"id"`
	Ticker       string          `json:"ticker"`
	ModelVersion string          `json:"model_version,omitempty"`
	DataAsOf     string          `json:"data_as_of,omitempty"`
	CreatedAt    time.Time       `json:"created_at"`
	Vector       string          `json:"vector"`
	Payload      json.RawMessage `json:"payload,omitempty"`
}

// loaded is what readFile found.
type loaded struct {
	dim    int
	points []*point
}

// readFile reads Memory's file at path. It returns (nil, nil) when there is none, and an
// error when the file exists but is not a valid point set. Points are checked as Upsert
// checks them, so a loaded store holds nothing Upsert would have refused.
func readFile(path string) (*loaded, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f fileData
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Version != fileVersion {
		return nil, fmt.Errorf("%s: format version %d, want %d", path, f.Version, fileVersion)
	}
	if f.Dim < 0 || (f.Dim == 0 && len(f.Points) > 0) {
		return nil, fmt.Errorf("%s: bad dimension %d for %d points", path, f.Dim, len(f.Points))
	}
	out := &loaded{dim: f.Dim, points: make([]*point, 0, len(f.Points))}
	for i, fp := range f.Points {
		vec, err := decodeVector(fp.Vector)
		if err != nil {
			return nil, fmt.Errorf("%s: point %d: %w", path, i, err)
		}
		if len(vec) != f.Dim {
			return nil, fmt.Errorf("%s: point %d: %w", path, i, &DimensionError{Want: f.Dim, Got: len(vec)})
		}
		if fp.CreatedAt.IsZero() {
			return nil, fmt.Errorf("%s: point %d: no created_at", path, i)
		}
		scope := Scope{Ticker: fp.Ticker, ModelVersion: fp.ModelVersion, DataAsOf: fp.DataAsOf}
		if fp.ModelVersion == "" && fp.DataAsOf == "" {
			continue // written before reports had a scope: it could never answer
		}
		p, err := prepare(Point{ID: fp.ID, Scope: scope, Vector: vec, CreatedAt: fp.CreatedAt, Payload: fp.Payload}, time.Time{})
		if err != nil {
			return nil, fmt.Errorf("%s: point %d: %w", path, i, err)
		}
		out.points = append(out.points, &p)
	}
	return out, nil
}

// writeFile replaces the file at path with the given points, atomically: it writes a
// temporary file in the same folder, syncs it, renames it over path and syncs the folder.
func writeFile(path string, dim int, pts []*point) error {
	f := fileData{Version: fileVersion, Dim: dim, Points: make([]filePoint, len(pts))}
	// Oldest first: a stable order keeps diffs of the file readable.
	sort.Slice(pts, func(i, j int) bool {
		if pts[i].ms != pts[j].ms {
			return pts[i].ms < pts[j].ms
		}
		return pts[i].ID < pts[j].ID
	})
	for i, p := range pts {
		f.Points[i] = filePoint{
			ID: p.ID, Ticker: p.Ticker, ModelVersion: p.ModelVersion, DataAsOf: p.DataAsOf,
			CreatedAt: p.CreatedAt, Vector: encodeVector(p.Vector), Payload: p.Payload,
		}
	}
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b)
}

func encodeVector(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(b)
}

func decodeVector(s string) ([]float32, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("vector: %w", err)
	}
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("vector: %d bytes is not a whole number of float32s", len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}
