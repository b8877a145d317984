package vectorstore

import (
	"path/filepath"
	"time"
)

// SeedFile writes Memory's file in dataDir holding ps, as a store that had stored them
// would, so benchmarks can start from a large store without paying for every write.
func SeedFile(dataDir string, dim int, ps []Point) error {
	pts := make([]*point, 0, len(ps))
	for _, p := range ps {
		sp, err := prepare(p, time.Now())
		if err != nil {
			return err
		}
		pts = append(pts, &sp)
	}
	return writeFile(filepath.Join(dataDir, FileName), dim, pts)
}
