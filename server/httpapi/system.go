package httpapi

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"stockagent/server/httpapi/api"
	"stockagent/server/logfile"
	"stockagent/server/tickers"
)

// MaxLogLines bounds GET /system/logs?lines=N.
const MaxLogLines = 5000

// GET /system/logs?lines=N: the last N lines of the server's log file.
func (h *handlers) GetLogs(c *fiber.Ctx, params api.GetLogsParams) error {
	n, err := optionalInt("lines", params.Lines, 100, 1, MaxLogLines)
	if err != nil {
		return err
	}
	if h.d.LogFile == "" {
		return fiber.NewError(fiber.StatusNotFound, "this server writes no log file")
	}
	text, err := logfile.Tail(h.d.LogFile, n)
	if errors.Is(err, fs.ErrNotExist) {
		text, err = "", nil
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"logs": text, "filename": filepath.Base(h.d.LogFile), "lines": n})
}

// GET /system/cache[?ticker=T]: the tickers with a cached forecast, or one cached forecast.
func (h *handlers) GetCache(c *fiber.Ctx, params api.GetCacheParams) error {
	pc := h.d.Forecast.Cache()
	if params.Ticker != nil && *params.Ticker != "" {
		model, err := tickers.Model(*params.Ticker)
		if err != nil {
			return err
		}
		pred, ok, err := pc.Get(c.UserContext(), model)
		if err != nil {
			return err
		}
		if !ok {
			return fiber.NewError(fiber.StatusNotFound, fmt.Sprintf("no cached prediction for %s", model))
		}
		return c.JSON(fiber.Map{"ticker": model, "cached": true, "prediction": pred})
	}
	names, err := pc.Tickers(c.UserContext())
	if err != nil {
		return err
	}
	sort.Strings(names)
	return c.JSON(fiber.Map{"cached_tickers": names, "count": len(names)})
}

// DELETE /system/reset: clears the prediction cache, finished task records
// and the semantic cache of reports. Needs the admin role; models are never deleted.
func (h *handlers) ResetSystem(c *fiber.Ctx) error {
	ctx := c.UserContext()
	cached, err := h.d.Forecast.Cache().Clear(ctx)
	if err != nil {
		return err
	}
	tasks, err := h.d.Forecast.Tasks().Clear(ctx)
	if err != nil {
		return err
	}
	semantic := 0
	if h.d.Analysis != nil {
		if v := h.d.Analysis.Vectors(); v != nil {
			if semantic, err = v.Clear(ctx); err != nil {
				return err
			}
		}
	}
	h.d.Logger.Warn("system reset", "prediction_cache", cached, "task_records", tasks, "caller", callerOf(c).ID)
	return c.JSON(fiber.Map{
		"status":    "System Reset Complete",
		"timestamp": time.Now().UTC().Format(time.RFC3339),
		"details": fiber.Map{
			"prediction_cache_entries": cached,
			"task_records":             tasks,
			"semantic_cache_reports":   semantic,
			"store":                    h.d.Store.Name(),
			"models":                   "kept (delete DATA_DIR/models to remove them)",
		},
	})
}

type entry struct {
	Name      string   `json:"name"`
	Type      string   `json:"type"` // "directory" or "file"
	Path      string   `json:"path"` // relative to the data folder
	FileCount *int     `json:"file_count,omitempty"`
	SizeKB    *float64 `json:"size_kb,omitempty"`
	Modified  string   `json:"modified"`
}

// version is a model version's folder name (stockagent/forecast/registry.py).
var version = regexp.MustCompile(`^v\d{17}-[0-9a-f]{4}$`)

// GET /outputs: one entry per trained model, named as the old service named
// its output folders: the lower-case ticker, "parent" for the market model.
// A model is trained once a version of it is complete (has its meta.json).
func (h *handlers) ListOutputs(c *fiber.Ctx) error {
	root := h.modelsDir()
	folders, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	contents := []entry{}
	total := 0.0
	for _, f := range folders {
		model, err := tickers.Model(f.Name())
		if err != nil || !f.IsDir() || tickers.Stem(model) != f.Name() || !trained(filepath.Join(root, f.Name())) {
			continue // not a model's folder: hidden, temporary or foreign
		}
		info, err := f.Info()
		if err != nil {
			continue
		}
		n, size := walk(filepath.Join(root, f.Name()))
		contents = append(contents, entry{Name: strings.ToLower(model), Type: "directory", Path: filepath.Join("models", f.Name()),
			FileCount: &n, Modified: info.ModTime().UTC().Format(time.RFC3339)})
		total += size
	}
	return c.JSON(fiber.Map{"path": h.d.DataDir, "total_items": len(contents), "directories": len(contents),
		"files": 0, "total_size_kb": round1(total), "contents": contents})
}

// trained reports whether a model folder holds a complete version.
func trained(dir string) bool {
	versions, _ := os.ReadDir(dir) // unreadable: not listed
	for _, v := range versions {
		if v.IsDir() && version.MatchString(v.Name()) {
			if _, err := os.Stat(filepath.Join(dir, v.Name(), "meta.json")); err == nil {
				return true
			}
		}
	}
	return false
}

// modelsDir is the folder model versions live in (MODELS_DIR).
func (h *handlers) modelsDir() string {
	if h.d.ModelsDir != "" {
		return h.d.ModelsDir
	}
	return filepath.Join(h.d.DataDir, "models")
}

// GET /outputs/{ticker}: one model's files by category. The folder comes
// from the validated ticker and stays inside the data folder.
func (h *handlers) GetOutputs(c *fiber.Ctx, ticker string) error {
	model, err := pathModel(ticker)
	if err != nil {
		return err
	}
	root := h.modelsDir()
	dir := filepath.Join(root, tickers.Stem(model))
	if rel, err := filepath.Rel(root, dir); err != nil || strings.HasPrefix(rel, "..") {
		return badRequest("ticker does not name a folder inside the data folder")
	}
	byCat := map[string][]string{}
	all := []string{}
	total := 0.0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".tmp-") {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.Join("models", rel) // as under the data folder, wherever MODELS_DIR lies
		if info, err := d.Info(); err == nil {
			total += float64(info.Size()) / 1024
		}
		cat := category(d.Name())
		byCat[cat] = append(byCat[cat], rel)
		all = append(all, rel)
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return fiber.NewError(fiber.StatusNotFound, fmt.Sprintf("no outputs for %s", model))
	}
	if err != nil {
		return err
	}
	cats := make([]string, 0, len(byCat))
	for k := range byCat {
		cats = append(cats, k)
	}
	sort.Strings(cats)
	return c.JSON(fiber.Map{"ticker": model, "path": dir, "total_files": len(all), "total_size_kb": round1(total),
		"categories": cats, "files_by_category": byCat, "all_files": all})
}

func category(name string) string {
	switch {
	case strings.HasSuffix(name, ".pt"):
		return "weights"
	case name == "scalers.json":
		return "scalers"
	case name == "meta.json" || name == "serving.json":
		return "metadata"
	}
	return "other"
}

// walk counts the files under dir and their size in KiB.
func walk(dir string) (int, float64) {
	n, kb := 0, 0.0
	// Best effort: what cannot be read is left out of the counts, never an error for /outputs.
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
			if info, err := d.Info(); err == nil {
				kb += float64(info.Size()) / 1024
			}
		}
		return nil
	})
	return n, kb
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }
