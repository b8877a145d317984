package deploytest_test

// The GPU host: Dockerfile.cuda and compose.gpu.yml, read as Docker would
// read them (no Docker engine runs in CI), and the settings the app reads
// against the README's table and .env.example.

import (
	"context"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"stockagent/deploy/deploytest"
)

const (
	repoRoot    = "../.."
	composeFile = "compose.gpu.yml"
	dockerfile  = "Dockerfile.cuda"
	envExample  = ".env.example"
)

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// env holds the ENV values a stage sets (KEY=value pairs; no quoting).
func stageEnv(st deploytest.Stage) map[string]string {
	env := map[string]string{}
	for _, in := range st.Find("ENV") {
		for _, kv := range strings.Fields(in.Args) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
	}
	return env
}

// pinned says whether image names a tag other than latest, or a digest.
func pinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	slash := strings.LastIndex(image, "/")
	_, tag, ok := strings.Cut(image[slash+1:], ":")
	return ok && tag != "" && tag != "latest"
}

func TestDockerfileCUDA(t *testing.T) {
	stages, err := deploytest.ParseDockerfile(readRepoFile(t, dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]deploytest.Stage{}
	for _, st := range stages {
		if byName[st.Name].Image != "" {
			t.Errorf("stage %q defined twice", st.Name)
		}
		// An image is an earlier stage or a pinned tag.
		if _, stage := byName[st.Image]; !stage && !pinned(st.Image) {
			t.Errorf("line %d: FROM %s: pin a tag (not latest) or a digest", st.Line, st.Image)
		}
		byName[st.Name] = st
	}
	// base follows FROM <stage> back to an image, listing the stages passed.
	base := func(name string) []string {
		chain := []string{name}
		for st, ok := byName[name]; ok; st, ok = byName[st.Image] {
			chain = append(chain, st.Image)
		}
		return chain
	}
	runs := func(st deploytest.Stage) string {
		var all []string
		for _, in := range st.Find("RUN") {
			all = append(all, in.Args)
		}
		return strings.Join(all, "\n")
	}

	web, build, runtime := byName["web"], byName["build"], stages[len(stages)-1]
	if !strings.HasPrefix(web.Image, "node:") || !strings.Contains(runs(web), "make web") {
		t.Errorf("stage web: FROM %q running %q; want a node image that runs make web", web.Image, runs(web))
	}
	if !regexp.MustCompile(`^nvidia/cuda:[0-9.]+-runtime-ubuntu`).MatchString(runtime.Image) {
		t.Errorf("the last stage is FROM %s, want NVIDIA's CUDA runtime image", runtime.Image)
	}

	// The server is built with cgo flags from the venv's interpreter and
	// told where that venv's python is; the runtime has both at the same
	// paths, so the rpath to libpython and the default interpreter hold.
	m := regexp.MustCompile(`(/\S*?/bin/python) native/cgoflags\.py[\s\S]*go build .*-X main\.defaultPython=(\S+?)["' ]`).FindStringSubmatch(runs(build))
	if m == nil || m[1] != m[2] {
		t.Fatalf("stage build: want go build with the cgo flags of native/cgoflags.py run by the venv's python, "+
			"and -X main.defaultPython= naming that python; RUNs:\n%s", runs(build))
	}
	venv := path.Dir(path.Dir(m[1]))
	copied := map[string]string{} // a path the runtime copies to the same path -> the stage it comes from
	for _, in := range runtime.Find("COPY") {
		f := strings.Fields(in.Args)
		src, dst := strings.TrimSuffix(f[0], "/"), strings.TrimSuffix(f[len(f)-1], "/")
		if from, ok := in.Flag("from"); ok && len(f) == 2 && src == dst {
			copied[dst] = from
		}
	}
	if copied[venv] != "build" {
		t.Errorf("the runtime does not COPY --from=build %s %s", venv, venv)
	}
	interpreter := copied["/usr/local/lib"]
	if interpreter == "" || !slices.Contains(base("build"), interpreter) {
		t.Errorf("the runtime's /usr/local/lib (libpython) comes from %q, want a stage the build stage is built on (%v)",
			interpreter, base("build"))
	}

	env := stageEnv(runtime)
	for _, k := range []string{"DATA_DIR", "PORT"} {
		if env[k] == "" {
			t.Errorf("the runtime sets no ENV %s", k)
		}
	}
	volumes := runtime.Find("VOLUME")
	if len(volumes) != 1 || !slices.Contains(strings.Fields(strings.Trim(volumes[0].Args, `[]"`)), env["DATA_DIR"]) {
		t.Errorf("VOLUME %+v: want the data folder %s", volumes, env["DATA_DIR"])
	}
	users := runtime.Find("USER")
	if len(users) == 0 {
		t.Error("the runtime runs as root: no USER")
	} else if u := strings.Split(users[len(users)-1].Args, ":")[0]; u == "root" || u == "0" {
		t.Errorf("USER %s: want a user other than root", users[len(users)-1].Args)
	}
	health := runtime.Find("HEALTHCHECK")
	if len(health) != 1 || !strings.Contains(health[0].Args, "/health") || !strings.Contains(health[0].Args, "${PORT}") {
		t.Errorf("HEALTHCHECK %+v: want one asking /health on ${PORT}", health)
	}
	if expose := runtime.Find("EXPOSE"); len(expose) != 1 || expose[0].Args != env["PORT"] {
		t.Errorf("EXPOSE %+v: want PORT %s", expose, env["PORT"])
	}
	if ep := runtime.Find("ENTRYPOINT"); len(ep) != 1 || !strings.Contains(ep[0].Args, "stockagent-server") {
		t.Errorf("ENTRYPOINT %+v: want the server", ep)
	}
}

// loadCompose reads compose.gpu.yml as docker compose does, with env as the
// variables it interpolates.
func loadCompose(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, composeFile)}},
		Environment: env,
	})
	if err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	return p
}

func exampleEnv(t *testing.T) map[string]string {
	t.Helper()
	env, err := dotenv.Parse(strings.NewReader(readRepoFile(t, envExample)))
	if err != nil {
		t.Fatalf("%s: %v", envExample, err)
	}
	return env
}

func TestComposeGPU(t *testing.T) {
	// With no .env (the defaults) and with .env.example copied to .env.
	for name, env := range map[string]map[string]string{"defaults": {}, envExample: exampleEnv(t)} {
		t.Run(name, func(t *testing.T) { checkCompose(t, loadCompose(t, env)) })
	}
}

func checkCompose(t *testing.T, p *types.Project) {
	want := []string{"app", "grafana", "llm", "prometheus", "qdrant", "redis"}
	if got := slices.Sorted(maps.Keys(p.Services)); !slices.Equal(got, want) {
		t.Fatalf("services %v, want %v", got, want)
	}
	svc := p.Services

	if b := svc["app"].Build; b == nil || b.Dockerfile != dockerfile {
		t.Errorf("app: build %+v, want %s", b, dockerfile)
	}
	for _, name := range []string{"app", "llm"} {
		if !reservesGPU(svc[name]) {
			t.Errorf("%s: no NVIDIA GPU reservation (deploy.resources.reservations.devices, driver nvidia, capabilities [gpu])", name)
		}
	}

	for name, s := range svc {
		if s.Image == "" && s.Build == nil || s.Image != "" && s.Build == nil && !pinned(s.Image) {
			t.Errorf("%s: image %q: pin a tag (not latest) or a digest", name, s.Image)
		}
		if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) < 2 {
			t.Errorf("%s: no health check", name)
		}
		if s.Restart == "" || s.Restart == "no" {
			t.Errorf("%s: restart %q: a long-running service restarts", name, s.Restart)
		}
		for dep, d := range s.DependsOn {
			if d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s depends on %s with condition %q, want %s", name, dep, d.Condition, types.ServiceConditionHealthy)
			}
		}
	}
	for dep, required := range map[string]bool{"redis": true, "qdrant": true, "llm": false} {
		if d, ok := svc["app"].DependsOn[dep]; !ok || d.Required != required {
			t.Errorf("app: depends_on %s %+v, want it with required: %v", dep, d, required)
		}
	}
	if _, ok := svc["grafana"].DependsOn["prometheus"]; !ok {
		t.Error("grafana starts before prometheus is healthy")
	}

	// Data lives in named volumes: the app's data folder, Redis, Qdrant, Prometheus and Grafana.
	env := svc["app"].Environment
	dataDir := value(env, "DATA_DIR")
	for name, target := range map[string]string{"app": dataDir, "redis": "/data", "qdrant": "/qdrant/storage",
		"prometheus": "/prometheus", "grafana": "/var/lib/grafana"} {
		v, ok := mount(svc[name], target)
		if !ok || v.Type != types.VolumeTypeVolume || p.Volumes[v.Source].Name == "" {
			t.Errorf("%s: no named volume at %q (%+v)", name, target, v)
		}
	}
	if cmd := strings.Join(svc["redis"].Command, " "); !strings.Contains(cmd, "--appendonly yes") {
		t.Errorf("redis: command %q: want persistence (--appendonly yes)", cmd)
	}

	// Published ports: the app, Grafana, and Prometheus on loopback only.
	for name, port := range map[string]uint32{"app": 8000, "grafana": 3000, "prometheus": 9090} {
		if !publishes(svc[name], port) {
			t.Errorf("%s: port %d is not published (%+v)", name, port, svc[name].Ports)
		}
	}
	if ip := svc["prometheus"].Ports[0].HostIP; ip != "127.0.0.1" {
		t.Errorf("prometheus: published on %q, want 127.0.0.1 (it has no authentication)", ip)
	}
	for _, name := range []string{"redis", "qdrant", "llm"} {
		if len(svc[name].Ports) > 0 {
			t.Errorf("%s publishes %+v: it serves the compose network alone", name, svc[name].Ports)
		}
	}

	// The app reaches the others by service name and their ports.
	if value(env, "PORT") != "8000" || !publishes(svc["app"], 8000) {
		t.Errorf("app: PORT %q, want 8000, the published container port", value(env, "PORT"))
	}
	if d := value(env, "DEVICE"); d != "cuda" && d != "auto" {
		t.Errorf("app: DEVICE %q, want cuda or auto", d)
	}
	llmPort := flagValue(svc["llm"].Command, "--port")
	for key, want := range map[string]string{"REDIS_URL": "redis:6379", "QDRANT_URL": "qdrant:6334", "LLM_BASE_URL": "llm:" + llmPort} {
		u, err := url.Parse(value(env, key))
		if err != nil || u.Host != want {
			t.Errorf("app: %s=%q, want a URL of %s", key, value(env, key), want)
		}
	}
	if alias := flagValue(svc["llm"].Command, "--alias"); alias == "" || alias != value(env, "LLM_MODEL") {
		t.Errorf("llm: --alias %q, app LLM_MODEL %q: want the same name", alias, value(env, "LLM_MODEL"))
	}
	model := flagValue(svc["llm"].Command, "--model")
	if models, ok := mount(svc["llm"], path.Dir(model)); !ok || !strings.HasSuffix(model, ".gguf") || filepath.Base(models.Source) != "models" {
		t.Errorf("llm: --model %q: want a .gguf in the mounted models folder (%+v)", model, svc["llm"].Volumes)
	}
	if flagValue(svc["llm"].Command, "--host") != "0.0.0.0" || flagValue(svc["llm"].Command, "--n-gpu-layers") == "" {
		t.Errorf("llm: command %v: want --host 0.0.0.0 and every layer on the GPU", svc["llm"].Command)
	}

	checkMonitoringMounts(t, p)
}

// checkMonitoringMounts checks that Prometheus and Grafana mount the
// repository's files where those files say they are, and that the names
// they use are the compose services'.
func checkMonitoringMounts(t *testing.T, p *types.Project) {
	t.Helper()
	svc := p.Services
	bind := func(service, dir string) string {
		for _, v := range svc[service].Volumes {
			if v.Type == types.VolumeTypeBind && v.Source == filepath.Join(p.WorkingDir, dir) {
				return v.Target
			}
		}
		t.Errorf("%s does not mount %s", service, dir)
		return ""
	}
	promDir := bind("prometheus", "deploy/prometheus")
	if cfg := flagValue(svc["prometheus"].Command, "--config.file"); cfg != path.Join(promDir, "prometheus.yml") {
		t.Errorf("prometheus: --config.file=%s, want %s/prometheus.yml", cfg, promDir)
	}
	if !regexp.MustCompile(`targets: \["app:8000"\]`).MatchString(readRepoFile(t, "deploy/prometheus/prometheus.yml")) {
		t.Error(`deploy/prometheus/prometheus.yml: want the scrape target "app:8000", the app service`)
	}
	if bind("grafana", "deploy/grafana/provisioning") != "/etc/grafana/provisioning" {
		t.Error("grafana: mount deploy/grafana/provisioning at /etc/grafana/provisioning, where Grafana reads it")
	}
	dashboards := bind("grafana", "deploy/grafana/dashboards")
	provider := readRepoFile(t, "deploy/grafana/provisioning/dashboards/dashboards.yml")
	if m := regexp.MustCompile(`(?m)^\s+path: (\S+)$`).FindStringSubmatch(provider); m == nil || m[1] != dashboards {
		t.Errorf("dashboards.yml reads %v, grafana mounts the dashboards at %s", m, dashboards)
	}
	source := readRepoFile(t, "deploy/grafana/provisioning/datasources/prometheus.yml")
	if !strings.Contains(source, "url: http://prometheus:9090") || !publishes(svc["prometheus"], 9090) {
		t.Error("deploy/grafana/provisioning/datasources/prometheus.yml: want url: http://prometheus:9090, the prometheus service")
	}
}

func value(env types.MappingWithEquals, key string) string {
	if v := env[key]; v != nil {
		return *v
	}
	return ""
}

// flagValue is the argument after flag in cmd, or the value of flag=value.
func flagValue(cmd types.ShellCommand, flag string) string {
	for i, a := range cmd {
		if a == flag && i+1 < len(cmd) {
			return cmd[i+1]
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

func reservesGPU(s types.ServiceConfig) bool {
	if s.Deploy == nil || s.Deploy.Resources.Reservations == nil {
		return false
	}
	for _, d := range s.Deploy.Resources.Reservations.Devices {
		if d.Driver == "nvidia" && slices.Contains(d.Capabilities, "gpu") {
			return true
		}
	}
	return false
}

func mount(s types.ServiceConfig, target string) (types.ServiceVolumeConfig, bool) {
	for _, v := range s.Volumes {
		if v.Target == target {
			return v, true
		}
	}
	return types.ServiceVolumeConfig{}, false
}

func publishes(s types.ServiceConfig, target uint32) bool {
	for _, p := range s.Ports {
		if p.Target == target && p.Published != "" {
			return true
		}
	}
	return false
}

// --- settings: what the app reads, what the README and .env.example document ---

var (
	// Go: config.Load's helpers (str, num, dur, onOff, list, getenv) and os.Getenv.
	goRead = regexp.MustCompile(`\b(?:os\.Getenv|os\.LookupEnv|getenv|str|num|dur|onOff|list)\(\s*"([A-Z][A-Z0-9_]*)"`)
	// Python: getenv("NAME"), environ["NAME"], any get("NAME", …) (os.environ's,
	// a mapping passed in for tests, the settings classes' helpers) and the
	// agent context's _env("NAME", …). The package has no other upper-case
	// keys that get() looks up; one added would show here as undocumented.
	pyRead = regexp.MustCompile(`(?:\bgetenv\(|\bget\(|\benviron\[|(?:^|[^\w.])_?env\()\s*["']([A-Z][A-Z0-9_]*)["']`)
	// A README table row's first cell holds one or more `NAME`s.
	tableRow  = regexp.MustCompile(`(?m)^\|([^|]+)\|`)
	tableName = regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")
	// .env.example names a variable as NAME=…, commented out or not.
	exampleName = regexp.MustCompile(`\b([A-Z][A-Z0-9_]*)=`)
	composeVar  = regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*)`)
)

// appReads scans the server's Go code (not tests, test helpers or other
// commands) and the stockagent package for the environment variables they
// read; each name maps to the files that read it.
func appReads(t *testing.T) map[string][]string {
	t.Helper()
	reads := map[string][]string{}
	scan := func(dir, ext string, re *regexp.Regexp) {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if n := d.Name(); n == "cmd" || n == "node_modules" || n == "tests" || strings.HasSuffix(n, "test") {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(p, ext) || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(repoRoot, p)
			for _, m := range re.FindAllStringSubmatch(string(src), -1) {
				if !slices.Contains(reads[m[1]], rel) {
					reads[m[1]] = append(reads[m[1]], rel)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{"server", "pybridge", "native", "web"} {
		scan(dir, ".go", goRead)
	}
	scan("pymodules/stockagent", ".py", pyRead)
	// One name from each way of reading proves the patterns still match the code.
	for name, file := range map[string]string{
		"PORT": "server/config/config.go", "LOG_LEVEL": "server/config/config.go", "RATE_LIMITS": "server/config/config.go",
		"DEVICE": "pymodules/stockagent/settings.py", "TRAIN_AMP": "pymodules/stockagent/settings.py",
		"LLM_BASE_URL": "pymodules/stockagent/agent/context.py", "MLFLOW_DISABLE": "pymodules/stockagent/forecast/tracking.py",
		"DRIFT_WINDOW_DAYS": "pymodules/stockagent/monitoring/config.py",
	} {
		if !slices.Contains(reads[name], file) {
			t.Fatalf("%s is not found read in %s: the patterns no longer match the code (found %v)", name, file, reads[name])
		}
	}
	return reads
}

// readmeTable returns the variables in the README's configuration table.
func readmeTable(t *testing.T) map[string]bool {
	t.Helper()
	readme := readRepoFile(t, "README.md")
	_, section, ok := strings.Cut(readme, "\n## Configuration\n")
	if !ok {
		t.Fatal("README.md has no ## Configuration section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	names := map[string]bool{}
	for _, row := range tableRow.FindAllStringSubmatch(section, -1) {
		for _, m := range tableName.FindAllStringSubmatch(row[1], -1) {
			names[m[1]] = true
		}
	}
	if len(names) < 20 {
		t.Fatalf("README's configuration table: %d variables read, the table's format changed?", len(names))
	}
	return names
}

func TestEverySettingDocumented(t *testing.T) {
	reads, table := appReads(t), readmeTable(t)
	example := map[string]bool{}
	for _, m := range exampleName.FindAllStringSubmatch(readRepoFile(t, envExample), -1) {
		example[m[1]] = true
	}
	compose := readRepoFile(t, composeFile)
	interpolated := map[string]bool{}
	for _, m := range composeVar.FindAllStringSubmatch(compose, -1) {
		interpolated[m[1]] = true
	}
	appEnv := loadCompose(t, nil).Services["app"].Environment

	for _, name := range slices.Sorted(maps.Keys(reads)) {
		where := reads[name]
		sort.Strings(where)
		if !table[name] {
			t.Errorf("%s (read in %v) is not in the README's configuration table", name, where)
		}
		if !example[name] && appEnv[name] == nil {
			t.Errorf("%s (read in %v) is neither set for the app in %s nor listed in %s", name, where, composeFile, envExample)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(table)) {
		if reads[name] == nil {
			t.Errorf("the README documents %s, which no code reads", name)
		}
		if !example[name] {
			t.Errorf("%s lacks %s, which the README's table lists", envExample, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(example)) {
		if !table[name] && !interpolated[name] {
			t.Errorf("%s lists %s, which neither the app nor %s uses", envExample, name, composeFile)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(interpolated)) {
		if !example[name] {
			t.Errorf("%s uses ${%s}, which %s does not list", composeFile, name, envExample)
		}
	}
}
