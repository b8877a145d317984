package deploytest_test

// The Docker hosts: Dockerfile.cuda with compose.gpu.yml (the GPU host) and
// Dockerfile with compose.yml (a machine without a GPU), read as Docker would
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
	"stockagent/server/config"
)

const (
	repoRoot   = "../.."
	envExample = ".env.example"
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

// What differs between the images.
type image struct {
	runtime *regexp.Regexp    // the image the last stage is built on
	env     map[string]string // ENV the last stage must set beyond DATA_DIR and PORT
}

var images = map[string]image{
	"Dockerfile.cuda": {runtime: regexp.MustCompile(`^nvidia/cuda:[0-9.]+-runtime-ubuntu`)},
	"Dockerfile": {
		runtime: regexp.MustCompile(`^python:3\.11\.[0-9]+-slim-`),
		env:     map[string]string{"DEVICE": "cpu"},
	},
}

func parseDockerfile(t *testing.T, name string) []deploytest.Stage {
	t.Helper()
	stages, err := deploytest.ParseDockerfile(readRepoFile(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return stages
}

func TestDockerfiles(t *testing.T) {
	for name, img := range images {
		t.Run(name, func(t *testing.T) { checkDockerfile(t, parseDockerfile(t, name), img) })
	}
}

// TestDockerfilesShareStages: the two images build the web app, the venv and
// the server by the same instructions; only their last stage differs.
func TestDockerfilesShareStages(t *testing.T) {
	cpu, cuda := parseDockerfile(t, "Dockerfile"), parseDockerfile(t, "Dockerfile.cuda")
	shared := func(stages []deploytest.Stage) []string {
		var names []string
		for _, st := range stages[:len(stages)-1] {
			names = append(names, st.Name)
		}
		return names
	}
	if a, b := shared(cpu), shared(cuda); !slices.Equal(a, b) || len(a) < 3 {
		t.Fatalf("stages before the last: %v in Dockerfile, %v in Dockerfile.cuda: want the same", a, b)
	}
	for i, st := range cpu[:len(cpu)-1] {
		other := cuda[i]
		if st.Image != other.Image || len(st.Instructions) != len(other.Instructions) {
			t.Errorf("stage %s: FROM %s with %d instructions, Dockerfile.cuda FROM %s with %d",
				st.Name, st.Image, len(st.Instructions), other.Image, len(other.Instructions))
			continue
		}
		for j, in := range st.Instructions {
			o := other.Instructions[j]
			if in.Cmd != o.Cmd || !slices.Equal(in.Flags, o.Flags) || in.Args != o.Args {
				t.Errorf("stage %s: Dockerfile line %d (%s %s) differs from Dockerfile.cuda line %d (%s %s)",
					st.Name, in.Line, in.Cmd, in.Args, o.Line, o.Cmd, o.Args)
			}
		}
	}
}

func checkDockerfile(t *testing.T, stages []deploytest.Stage, img image) {
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
	runtimeChain := base(runtime.Name)
	if from := runtimeChain[len(runtimeChain)-1]; !img.runtime.MatchString(from) {
		t.Errorf("the last stage is built on %s, want %s", from, img.runtime)
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
	// libpython (/usr/local/lib) is copied from, or inherited from, a stage the build stage is built on.
	interpreter := copied["/usr/local/lib"]
	if interpreter == "" && len(runtimeChain) > 1 {
		interpreter = runtimeChain[1]
	}
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
	for k, v := range img.env {
		if env[k] != v {
			t.Errorf("the runtime sets ENV %s=%q, want %q", k, env[k], v)
		}
	}
	// A read-only root: HOME and the caches lie under /tmp or DATA_DIR, the only places written
	// to, and a python run in the container writes no bytecode beside its modules.
	for _, k := range []string{"HOME", "TMPDIR", "XDG_CACHE_HOME", "MPLCONFIGDIR"} {
		if v := env[k]; v != "/tmp" && !strings.HasPrefix(v, "/tmp/") && !strings.HasPrefix(v, env["DATA_DIR"]+"/") {
			t.Errorf("ENV %s=%q: want it under /tmp or DATA_DIR, the only places written to", k, v)
		}
	}
	if env["PYTHONDONTWRITEBYTECODE"] != "1" {
		t.Errorf("ENV PYTHONDONTWRITEBYTECODE=%q, want 1 for a read-only root", env["PYTHONDONTWRITEBYTECODE"])
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

// What differs between the compose stacks.
type stack struct {
	dockerfile string
	apps       []string          // the services running our image
	proxied    []string          // the apps behind the proxy service; none: the app is published itself
	others     []string          // every other service
	published  map[string]uint32 // service -> its container port published on the host
	devices    []string          // DEVICE values the apps may run with
	gpu        []string          // services that reserve an NVIDIA GPU
	prometheus string            // its configuration, in deploy/prometheus
	keys       map[string]string // variables the file requires, with values for the test
}

var stacks = map[string]stack{
	"compose.gpu.yml": {
		dockerfile: "Dockerfile.cuda",
		apps:       []string{"app"},
		others:     []string{"grafana", "llm", "prometheus", "qdrant", "redis"},
		published:  map[string]uint32{"app": 8000, "grafana": 3000, "prometheus": 9090},
		devices:    []string{"cuda", "auto"},
		gpu:        []string{"app", "llm"},
		prometheus: "prometheus.yml",
	},
	"compose.yml": {
		dockerfile: "Dockerfile",
		apps:       []string{"api-1", "api-2", "trainer"},
		proxied:    []string{"api-1", "api-2"},
		others:     []string{"grafana", "llm", "prometheus", "proxy", "qdrant", "redis"},
		published:  map[string]uint32{"proxy": 80, "grafana": 3000, "prometheus": 9090},
		devices:    []string{"cpu"},
		prometheus: "prometheus.cpu.yml",
		keys:       map[string]string{"REDIS_PASSWORD": "redispw1", "QDRANT_API_KEY": "qdrantkey1"},
	},
}

// loadCompose reads a compose file as docker compose does, with env as the
// variables it interpolates.
func loadCompose(t *testing.T, file string, env map[string]string) *types.Project {
	t.Helper()
	p, err := loadComposeErr(t, file, env)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return p
}

func loadComposeErr(t *testing.T, file string, env map[string]string) (*types.Project, error) {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, file)}},
		Environment: env,
	})
}

func exampleEnv(t *testing.T) map[string]string {
	t.Helper()
	env, err := dotenv.Parse(strings.NewReader(readRepoFile(t, envExample)))
	if err != nil {
		t.Fatalf("%s: %v", envExample, err)
	}
	return env
}

func TestCompose(t *testing.T) {
	for file, st := range stacks {
		t.Run(file, func(t *testing.T) {
			// With no .env (the defaults) and with .env.example copied to .env, the required keys added.
			example := exampleEnv(t)
			maps.Copy(example, st.keys)
			for name, env := range map[string]map[string]string{"defaults": maps.Clone(st.keys), envExample: example} {
				t.Run(name, func(t *testing.T) {
					p := loadCompose(t, file, env)
					checkCompose(t, st, p)
					if len(st.proxied) > 0 {
						checkReplicas(t, st, p)
					}
				})
			}
			// A required key left out stops compose with a line naming it.
			for key := range st.keys {
				env := maps.Clone(st.keys)
				delete(env, key)
				if _, err := loadComposeErr(t, file, env); err == nil || !strings.Contains(err.Error(), key) {
					t.Errorf("without %s: error %v, want one naming it", key, err)
				}
			}
		})
	}
}

func checkCompose(t *testing.T, st stack, p *types.Project) {
	want := slices.Sorted(slices.Values(append(slices.Clone(st.apps), st.others...)))
	if got := slices.Sorted(maps.Keys(p.Services)); !slices.Equal(got, want) {
		t.Fatalf("services %v, want %v", got, want)
	}
	svc := p.Services

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
		if reservesGPU(s) != slices.Contains(st.gpu, name) {
			t.Errorf("%s: reserves an NVIDIA GPU: %v, want %v", name, reservesGPU(s), slices.Contains(st.gpu, name))
		}
		if port, ok := st.published[name]; !ok && len(s.Ports) > 0 {
			t.Errorf("%s publishes %+v: it serves the compose network alone", name, s.Ports)
		} else if ok && !publishes(s, port) {
			t.Errorf("%s: port %d is not published (%+v)", name, port, s.Ports)
		}
	}
	if _, ok := svc["grafana"].DependsOn["prometheus"]; !ok {
		t.Error("grafana starts before prometheus is healthy")
	}
	if ip := svc["prometheus"].Ports[0].HostIP; ip != "127.0.0.1" {
		t.Errorf("prometheus: published on %q, want 127.0.0.1 (it has no authentication)", ip)
	}

	// Data lives in named volumes: each app's data folder, Redis, Qdrant, Prometheus and Grafana.
	volumes := map[string]string{"redis": "/data", "qdrant": "/qdrant/storage", "prometheus": "/prometheus", "grafana": "/var/lib/grafana"}
	for name, target := range volumes {
		if v, ok := mount(svc[name], target); !ok || v.Type != types.VolumeTypeVolume || p.Volumes[v.Source].Name == "" {
			t.Errorf("%s: no named volume at %q (%+v)", name, target, v)
		}
	}
	if cmd := strings.Join(svc["redis"].Command, " "); !strings.Contains(cmd, "--appendonly yes") {
		t.Errorf("redis: command %q: want persistence (--appendonly yes)", cmd)
	}

	llm := svc["llm"].Command
	for _, name := range st.apps {
		app := svc[name]
		if b := app.Build; b == nil || b.Dockerfile != st.dockerfile {
			t.Errorf("%s: build %+v, want %s", name, b, st.dockerfile)
		}
		for dep, required := range map[string]bool{"redis": true, "qdrant": true, "llm": false} {
			if d, ok := app.DependsOn[dep]; !ok || d.Required != required {
				t.Errorf("%s: depends_on %s %+v, want it with required: %v", name, dep, d, required)
			}
		}
		env := app.Environment
		if v, ok := mount(app, value(env, "DATA_DIR")); !ok || v.Type != types.VolumeTypeVolume || p.Volumes[v.Source].Name == "" {
			t.Errorf("%s: no named volume at DATA_DIR %q (%+v)", name, value(env, "DATA_DIR"), v)
		}
		// The port the proxy, Prometheus and the published port reach.
		if value(env, "PORT") != "8000" {
			t.Errorf("%s: PORT %q, want 8000", name, value(env, "PORT"))
		}
		if d := value(env, "DEVICE"); !slices.Contains(st.devices, d) {
			t.Errorf("%s: DEVICE %q, want one of %v", name, d, st.devices)
		}
		// The app reaches the others by service name and their ports.
		for key, want := range map[string]string{"REDIS_URL": "redis:6379", "QDRANT_URL": "qdrant:6334", "LLM_BASE_URL": "llm:" + flagValue(llm, "--port")} {
			u, err := url.Parse(value(env, key))
			if err != nil || u.Host != want {
				t.Errorf("%s: %s=%q, want a URL of %s", name, key, value(env, key), want)
			}
		}
		if alias := flagValue(llm, "--alias"); alias == "" || alias != value(env, "LLM_MODEL") {
			t.Errorf("llm: --alias %q, %s LLM_MODEL %q: want the same name", alias, name, value(env, "LLM_MODEL"))
		}
	}
	model := flagValue(llm, "--model")
	if models, ok := mount(svc["llm"], path.Dir(model)); !ok || !strings.HasSuffix(model, ".gguf") || filepath.Base(models.Source) != "models" {
		t.Errorf("llm: --model %q: want a .gguf in the mounted models folder (%+v)", model, svc["llm"].Volumes)
	}
	if flagValue(llm, "--host") != "0.0.0.0" {
		t.Errorf("llm: command %v: want --host 0.0.0.0", llm)
	}
	if layers := flagValue(llm, "--n-gpu-layers"); (layers != "") != slices.Contains(st.gpu, "llm") {
		t.Errorf("llm: --n-gpu-layers %q: want every layer on the GPU where it reserves one, none otherwise", layers)
	}

	checkMonitoringMounts(t, st, p)
}

// checkReplicas checks a stack of several app replicas: the proxy spreads
// requests over the proxied ones only and is their trusted proxy, each
// replica's data folder is its own but models/ is one shared volume, the
// others run as trainers, Redis and Qdrant require the keys the apps hold,
// and the apps' root file systems are read-only.
func checkReplicas(t *testing.T, st stack, p *types.Project) {
	svc := p.Services
	proxy := svc["proxy"]
	for _, name := range st.proxied {
		if d, ok := proxy.DependsOn[name]; !ok || d.Condition != types.ServiceConditionHealthy {
			t.Errorf("proxy: starts before %s is healthy", name)
		}
	}
	conf, ok := mount(proxy, "/etc/nginx/conf.d/default.conf")
	if !ok || conf.Source != filepath.Join(p.WorkingDir, "deploy/proxy/nginx.conf") {
		t.Errorf("proxy: mount deploy/proxy/nginx.conf at /etc/nginx/conf.d/default.conf (%+v)", proxy.Volumes)
	}
	var upstreams []string
	for _, m := range regexp.MustCompile(`(?m)^\s*server\s+([\w.-]+):8000\b`).FindAllStringSubmatch(readRepoFile(t, "deploy/proxy/nginx.conf"), -1) {
		upstreams = append(upstreams, m[1])
	}
	if slices.Sort(upstreams); !slices.Equal(upstreams, st.proxied) {
		t.Errorf("deploy/proxy/nginx.conf: upstream servers %v, want %v on port 8000", upstreams, st.proxied)
	}
	var proxyIP string
	for _, n := range proxy.Networks {
		if n != nil && n.Ipv4Address != "" {
			proxyIP = n.Ipv4Address
		}
	}

	dataVolumes := map[string]string{}
	var models string
	password := flagValue(svc["redis"].Command, "--requirepass")
	for _, name := range st.apps {
		app := svc[name]
		env := app.Environment
		if got := value(env, "TRUSTED_PROXIES"); proxyIP == "" || got != proxyIP {
			t.Errorf("%s: TRUSTED_PROXIES %q, want the proxy's fixed address %q", name, got, proxyIP)
		}
		dataDir := value(env, "DATA_DIR")
		data, _ := mount(app, dataDir)
		if other, ok := dataVolumes[data.Source]; ok {
			t.Errorf("%s and %s share the data volume %s: only models/ is shared", name, other, data.Source)
		}
		dataVolumes[data.Source] = name
		m, ok := mount(app, path.Join(dataDir, "models"))
		if !ok || m.Type != types.VolumeTypeVolume || models != "" && m.Source != models {
			t.Errorf("%s: %s/models is %+v, want the volume every app shares", name, dataDir, m)
		}
		models = m.Source
		if got := value(env, "MODELS_DIR"); got != path.Join(dataDir, "models") {
			t.Errorf("%s: MODELS_DIR %q, want %s/models", name, got, dataDir)
		}
		if role := value(env, "ROLE"); (role == "trainer") == slices.Contains(st.proxied, name) {
			t.Errorf("%s: ROLE %q: the proxied apps keep the default, the others are trainers", name, role)
		}
		if !app.ReadOnly || !slices.Contains(app.Tmpfs, "/tmp") {
			t.Errorf("%s: read_only %v, tmpfs %v: want a read-only root with a tmpfs at /tmp", name, app.ReadOnly, app.Tmpfs)
		}
		u, _ := url.Parse(value(env, "REDIS_URL"))
		if pw, _ := u.User.Password(); password == "" || pw != password || password != st.keys["REDIS_PASSWORD"] {
			t.Errorf("%s: REDIS_URL's password %q, redis --requirepass %q: want REDIS_PASSWORD in both", name, pw, password)
		}
		if key := value(svc["qdrant"].Environment, "QDRANT__SERVICE__API_KEY"); key == "" || key != value(env, "QDRANT_API_KEY") {
			t.Errorf("%s: QDRANT_API_KEY %q, qdrant's key %q: want the same, set", name, value(env, "QDRANT_API_KEY"), key)
		}
	}
}

// checkMonitoringMounts checks that Prometheus and Grafana mount the
// repository's files where those files say they are, that Prometheus
// scrapes every app, and that the names they use are the compose services'.
func checkMonitoringMounts(t *testing.T, st stack, p *types.Project) {
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
	if cfg := flagValue(svc["prometheus"].Command, "--config.file"); cfg != path.Join(promDir, st.prometheus) {
		t.Errorf("prometheus: --config.file=%s, want %s/%s", cfg, promDir, st.prometheus)
	}
	var targets []string
	if m := regexp.MustCompile(`(?m)^\s*- targets: \[([^\]]*)\]`).FindStringSubmatch(readRepoFile(t, "deploy/prometheus/"+st.prometheus)); m != nil {
		for _, target := range strings.Split(m[1], ",") {
			targets = append(targets, strings.Trim(strings.TrimSpace(target), `"`))
		}
	}
	var want []string
	for _, app := range st.apps {
		want = append(want, app+":8000")
	}
	if !slices.Equal(targets, want) {
		t.Errorf("deploy/prometheus/%s: the first scrape targets %q, want the apps %q", st.prometheus, targets, want)
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
	// Python: getenv("NAME"), environ["NAME"] and any get("NAME", …) (os.environ's,
	// a mapping passed in for tests). The package has no other upper-case keys
	// that get() looks up; one added would show here as undocumented. Its
	// settings model's variables are config.PythonVariables (see appReads).
	pyRead = regexp.MustCompile(`(?:\bgetenv\(|\bget\(|\benviron\[)\s*["']([A-Z][A-Z0-9_]*)["']`)
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
	// Python's own settings the server reads and passes on in one mapping
	// (pymodules/stockagent/settings.py declares them).
	for _, name := range config.PythonVariables {
		reads[name] = append(reads[name], "server/config/config.go")
	}
	// One name from each way of reading proves the patterns still match the code.
	for name, file := range map[string]string{
		"PORT": "server/config/config.go", "LOG_LEVEL": "server/config/config.go", "RATE_LIMITS": "server/config/config.go",
		"LLM_MODEL": "server/config/config.go", "MLFLOW_DISABLE": "pymodules/stockagent/forecast/tracking.py",
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
	interpolated := map[string][]string{} // variable -> the compose files that use it
	for _, file := range slices.Sorted(maps.Keys(stacks)) {
		for _, m := range composeVar.FindAllStringSubmatch(readRepoFile(t, file), -1) {
			if !slices.Contains(interpolated[m[1]], file) {
				interpolated[m[1]] = append(interpolated[m[1]], file)
			}
		}
		st := stacks[file]
		p := loadCompose(t, file, st.keys)
		for _, app := range st.apps {
			for _, name := range slices.Sorted(maps.Keys(p.Services[app].Environment)) {
				if !table[name] {
					t.Errorf("%s: %s sets %s, which is not in the README's configuration table", file, app, name)
				}
			}
		}
	}
	appEnv := loadCompose(t, "compose.gpu.yml", nil).Services["app"].Environment

	for _, name := range slices.Sorted(maps.Keys(reads)) {
		where := reads[name]
		sort.Strings(where)
		if !table[name] {
			t.Errorf("%s (read in %v) is not in the README's configuration table", name, where)
		}
		if !example[name] && appEnv[name] == nil {
			t.Errorf("%s (read in %v) is neither set for the app in compose.gpu.yml nor listed in %s", name, where, envExample)
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
		if !table[name] && interpolated[name] == nil {
			t.Errorf("%s lists %s, which neither the app nor a compose file uses", envExample, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(interpolated)) {
		if !example[name] {
			t.Errorf("%v use ${%s}, which %s does not list", interpolated[name], name, envExample)
		}
	}
}
