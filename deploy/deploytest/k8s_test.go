package deploytest_test

// The Kubernetes manifests: every overlay rendered as kubectl applies it,
// decoded strictly into the k8s.io/api types, and checked for what a cluster
// would only show once it runs them.

import (
	"fmt"
	"maps"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/compose-spec/compose-go/v2/types"

	"stockagent/deploy/deploytest"
)

const overlaysDir = "../k8s/overlays"

// overlay is what differs between the overlays.
type overlay struct {
	gpu         []string // workloads whose container requests nvidia.com/gpu
	modelsModes []corev1.PersistentVolumeAccessMode
}

var overlays = map[string]overlay{
	// One node: its storage classes offer no ReadWriteMany, and ReadWriteOnce mounts in every pod there.
	"local": {modelsModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}},
	"gpu": {gpu: []string{"llm", "stockagent-trainer"},
		modelsModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}},
}

func TestOverlaysListed(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(overlaysDir, "*", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range dirs {
		names = append(names, filepath.Base(filepath.Dir(d)))
	}
	if want := slices.Sorted(maps.Keys(overlays)); !slices.Equal(names, want) {
		t.Errorf("overlays %v in %s, the test knows %v", names, overlaysDir, want)
	}
}

func TestDecodeManifestsStrict(t *testing.T) {
	good := "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: b\n"
	objs, err := deploytest.DecodeManifests([]byte(good))
	if err != nil || len(objs) != 2 {
		t.Fatalf("DecodeManifests = %v, %v; want a Service and a Deployment", objs, err)
	}
	if _, ok := objs[1].(*appsv1.Deployment); !ok {
		t.Errorf("second object is %T, want *appsv1.Deployment", objs[1])
	}
	for name, c := range map[string]struct{ doc, want string }{
		"unknown field":  {"apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  selectr: {}\n", `unknown field "selectr"`},
		"unknown kind":   {"apiVersion: v1\nkind: Servce\nmetadata:\n  name: a\n", "Servce"},
		"duplicate key":  {"apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  name: b\n", "name"},
		"wrong type":     {"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\nspec:\n  replicas: two\n", "replicas"},
		"no kind at all": {"metadata:\n  name: a\n", "no kind"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := deploytest.DecodeManifests([]byte(c.doc)); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// rendered is one overlay's objects, by kind.
type rendered struct {
	deployments  []*appsv1.Deployment
	statefulSets []*appsv1.StatefulSet
	services     []*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	claims       map[string]*corev1.PersistentVolumeClaim
	pdbs         []*policyv1.PodDisruptionBudget
	hpas         []*autoscalingv2.HorizontalPodAutoscaler
	ingresses    []*networkingv1.Ingress
	policies     []*networkingv1.NetworkPolicy
	namespaces   []*corev1.Namespace
}

func render(t *testing.T, name string) rendered {
	t.Helper()
	out, err := deploytest.Kustomize(filepath.Join(overlaysDir, name))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := deploytest.DecodeManifests(out)
	if err != nil {
		t.Fatal(err)
	}
	r := rendered{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
		claims: map[string]*corev1.PersistentVolumeClaim{}}
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			r.deployments = append(r.deployments, o)
		case *appsv1.StatefulSet:
			r.statefulSets = append(r.statefulSets, o)
		case *corev1.Service:
			r.services = append(r.services, o)
		case *corev1.ConfigMap:
			r.configMaps[o.Name] = o
		case *corev1.Secret:
			r.secrets[o.Name] = o
		case *corev1.PersistentVolumeClaim:
			r.claims[o.Name] = o
		case *policyv1.PodDisruptionBudget:
			r.pdbs = append(r.pdbs, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			r.hpas = append(r.hpas, o)
		case *networkingv1.Ingress:
			r.ingresses = append(r.ingresses, o)
		case *networkingv1.NetworkPolicy:
			r.policies = append(r.policies, o)
		case *corev1.Namespace:
			r.namespaces = append(r.namespaces, o)
		default:
			t.Errorf("%T: a kind the test does not check", o)
		}
	}
	return r
}

// workload is a Deployment or StatefulSet, by what they share.
type workload struct {
	kind, name string
	template   corev1.PodTemplateSpec
	replicas   *int32
}

func (r rendered) workloads() []workload {
	var ws []workload
	for _, d := range r.deployments {
		ws = append(ws, workload{"Deployment", d.Name, d.Spec.Template, d.Spec.Replicas})
	}
	for _, s := range r.statefulSets {
		ws = append(ws, workload{"StatefulSet", s.Name, s.Spec.Template, s.Spec.Replicas})
	}
	return ws
}

func (r rendered) workload(t *testing.T, name string) workload {
	t.Helper()
	for _, w := range r.workloads() {
		if w.name == name {
			return w
		}
	}
	t.Fatalf("no Deployment or StatefulSet %s", name)
	return workload{}
}

// ours says whether a container runs the service's own image.
func ours(c corev1.Container) bool {
	repo, _, _ := strings.Cut(c.Image, ":")
	return repo == "stockagent"
}

func selects(sel map[string]string, pod map[string]string) bool {
	return len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(pod))
}

func TestKubernetesOverlays(t *testing.T) {
	for name, o := range overlays {
		t.Run(name, func(t *testing.T) {
			r := render(t, name)
			api, trainer := r.workload(t, "stockagent-api"), r.workload(t, "stockagent-trainer")
			for _, w := range r.workloads() {
				t.Run(w.kind+"/"+w.name, func(t *testing.T) { checkPod(t, w) })
			}
			checkAPI(t, r, api, trainer)
			checkSettings(t, r, api, trainer)
			checkModels(t, r, o, api, trainer)
			checkStores(t, r)
			checkNetworkPolicies(t, r, api, trainer)
			checkGPU(t, r, o)
			checkDashboards(t, r)
			if len(r.namespaces) != 1 || r.namespaces[0].Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
				t.Errorf("want one Namespace enforcing the restricted Pod Security Standard, got %+v", r.namespaces)
			}
		})
	}
}

// checkPod checks what every pod must have: the restricted Pod Security
// Standard's fields, a read-only root, pinned images, resources and two probes
// that ask different things.
func checkPod(t *testing.T, w workload) {
	pod := w.template.Spec
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		t.Error("shares a host namespace")
	}
	for _, v := range pod.Volumes {
		if v.HostPath != nil {
			t.Errorf("volume %s is a hostPath", v.Name)
		}
	}
	if len(pod.InitContainers) > 0 {
		t.Error("init containers: extend these checks to them first")
	}
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("%s: no securityContext", c.Name)
			continue
		}
		if !isTrue(sc.RunAsNonRoot) && !isTrue(psc.RunAsNonRoot) {
			t.Errorf("%s: runAsNonRoot is not set", c.Name)
		}
		if uid := firstSet(sc.RunAsUser, psc.RunAsUser); uid != nil && *uid == 0 {
			t.Errorf("%s: runAsUser 0", c.Name)
		}
		seccomp := sc.SeccompProfile
		if seccomp == nil {
			seccomp = psc.SeccompProfile
		}
		if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: seccompProfile %+v, want RuntimeDefault", c.Name, seccomp)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || isTrue(sc.Privileged) {
			t.Errorf("%s: allowPrivilegeEscalation must be false, privileged unset", c.Name)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			t.Errorf("%s: capabilities %+v, want drop [ALL] and nothing added", c.Name, sc.Capabilities)
		}
		if !isTrue(sc.ReadOnlyRootFilesystem) {
			t.Errorf("%s: readOnlyRootFilesystem is not true", c.Name)
		}
		if !pinned(c.Image) {
			t.Errorf("%s: image %q: pin a tag (not latest) or a digest", c.Name, c.Image)
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := c.Resources.Requests[res]; !ok || q.IsZero() {
				t.Errorf("%s: no %s request", c.Name, res)
			}
		}
		if q, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok || q.IsZero() {
			t.Errorf("%s: no memory limit", c.Name)
		}
		live, ready := probeTarget(c.LivenessProbe), probeTarget(c.ReadinessProbe)
		if live == "" || ready == "" || live == ready {
			t.Errorf("%s: liveness %q, readiness %q: want both, asking different things", c.Name, live, ready)
		}
		if ours(c) {
			// Liveness asks the process alone; readiness /health, which also asks the stores.
			if !strings.HasSuffix(ready, ":/health") || strings.HasSuffix(live, "/health") {
				t.Errorf("%s: liveness %q, readiness %q: want readiness on /health and liveness elsewhere", c.Name, live, ready)
			}
			if !mountsEmptyDir(pod, c, "/tmp") {
				t.Errorf("%s: no emptyDir at /tmp for a read-only root", c.Name)
			}
		}
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

func firstSet(vs ...*int64) *int64 {
	for _, v := range vs {
		if v != nil {
			return v
		}
	}
	return nil
}

// probeTarget names what a probe asks: "http:PORT:PATH" for an HTTP GET,
// "exec:URL-PATH" for a command that fetches a local URL, "exec:COMMAND" for
// another command, "tcp:PORT" for a TCP socket; "" for no probe.
func probeTarget(p *corev1.Probe) string {
	switch {
	case p == nil:
		return ""
	case p.HTTPGet != nil:
		return "http:" + p.HTTPGet.Port.String() + ":" + p.HTTPGet.Path
	case p.Exec != nil:
		cmd := strings.Join(p.Exec.Command, " ")
		for _, f := range strings.Fields(cmd) {
			if u, err := url.Parse(strings.Trim(f, `"'`)); err == nil && u.Scheme == "http" {
				return "exec:" + u.Host + ":" + u.Path
			}
		}
		return "exec:" + cmd
	case p.TCPSocket != nil:
		return "tcp:" + p.TCPSocket.Port.String()
	case p.GRPC != nil:
		return fmt.Sprintf("grpc:%d", p.GRPC.Port)
	}
	return ""
}

func volume(pod corev1.PodSpec, name string) *corev1.Volume {
	for i := range pod.Volumes {
		if pod.Volumes[i].Name == name {
			return &pod.Volumes[i]
		}
	}
	return nil
}

// mountAt returns the volume mounted at dir in c.
func mountAt(pod corev1.PodSpec, c corev1.Container, dir string) *corev1.Volume {
	for _, m := range c.VolumeMounts {
		if m.MountPath == dir {
			return volume(pod, m.Name)
		}
	}
	return nil
}

func mountsEmptyDir(pod corev1.PodSpec, c corev1.Container, dir string) bool {
	v := mountAt(pod, c, dir)
	return v != nil && v.EmptyDir != nil
}

func mainContainer(t *testing.T, w workload) corev1.Container {
	t.Helper()
	if len(w.template.Spec.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", w.name, len(w.template.Spec.Containers))
	}
	return w.template.Spec.Containers[0]
}

// checkAPI: the API replicas serve behind a Service and the Ingress, at least
// two, with a disruption budget, an autoscaler and scrape annotations; the
// trainer runs the same image with ROLE=trainer and no Service.
func checkAPI(t *testing.T, r rendered, api, trainer workload) {
	if api.replicas == nil || *api.replicas < 2 {
		t.Errorf("%s: replicas %s, want at least 2", api.name, fmt.Sprint(deref(api.replicas)))
	}
	var apiService string
	for _, s := range r.services {
		if selects(s.Spec.Selector, trainer.template.Labels) {
			t.Errorf("Service %s selects the trainer's pods: it serves no traffic", s.Name)
		}
		if selects(s.Spec.Selector, api.template.Labels) {
			apiService = s.Name
		}
	}
	if apiService == "" {
		t.Errorf("no Service selects %s's pods", api.name)
	}
	routed := false
	for _, ing := range r.ingresses {
		for _, rule := range ing.Spec.Rules {
			for _, p := range rule.HTTP.Paths {
				routed = routed || p.Backend.Service != nil && p.Backend.Service.Name == apiService
			}
		}
	}
	if !routed {
		t.Errorf("no Ingress routes to the Service %s", apiService)
	}
	budget := false
	for _, pdb := range r.pdbs {
		if pdb.Spec.Selector != nil && selects(pdb.Spec.Selector.MatchLabels, api.template.Labels) &&
			(pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.IntValue() >= 1 || pdb.Spec.MaxUnavailable != nil) {
			budget = true
		}
	}
	if !budget {
		t.Errorf("no PodDisruptionBudget keeps %s's pods available", api.name)
	}
	scaled := false
	for _, h := range r.hpas {
		ref := h.Spec.ScaleTargetRef
		if ref.Kind == "Deployment" && ref.Name == api.name && h.Spec.MinReplicas != nil && *h.Spec.MinReplicas >= 2 &&
			h.Spec.MaxReplicas > *h.Spec.MinReplicas && len(h.Spec.Metrics) > 0 {
			scaled = true
		}
	}
	if !scaled {
		t.Errorf("no HorizontalPodAutoscaler scales %s from at least 2 replicas", api.name)
	}

	a, tr := mainContainer(t, api), mainContainer(t, trainer)
	if !ours(a) || !ours(tr) {
		t.Errorf("images %q and %q: want the service's image for both", a.Image, tr.Image)
	}
	if role := envValue(tr, "ROLE"); role != "trainer" {
		t.Errorf("%s: ROLE %q, want trainer", trainer.name, role)
	}
	if role := envValue(a, "ROLE"); role != "" {
		t.Errorf("%s: ROLE %q, want the default", api.name, role)
	}
	for _, w := range []workload{api, trainer} {
		c := mainContainer(t, w)
		ann := w.template.Annotations
		if len(c.Ports) != 1 || ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != "/metrics" ||
			ann["prometheus.io/port"] != fmt.Sprint(c.Ports[0].ContainerPort) {
			t.Errorf("%s: annotations %v: want Prometheus to scrape /metrics on the container's port %+v", w.name, ann, c.Ports)
		}
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return "unset"
	}
	return *p
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// settings returns every variable the manifests give c, each with its value
// ("" for a secret), following envFrom and secretKeyRef into the rendered
// ConfigMaps and Secrets, which must exist and hold the keys.
func settings(t *testing.T, r rendered, c corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm := r.configMaps[from.ConfigMapRef.Name]
			if cm == nil {
				t.Errorf("%s: envFrom ConfigMap %s is not rendered", c.Name, from.ConfigMapRef.Name)
				continue
			}
			maps.Copy(env, cm.Data)
		case from.SecretRef != nil:
			s := r.secrets[from.SecretRef.Name]
			if s == nil {
				t.Errorf("%s: envFrom Secret %s is not rendered", c.Name, from.SecretRef.Name)
				continue
			}
			for k := range s.Data {
				env[k] = ""
			}
		}
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
		if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil && !isTrue(ref.SecretKeyRef.Optional) {
			if s := r.secrets[ref.SecretKeyRef.Name]; s == nil || s.Data[ref.SecretKeyRef.Key] == nil {
				t.Errorf("%s: %s from Secret %s key %s, which is not rendered", c.Name, e.Name, ref.SecretKeyRef.Name, ref.SecretKeyRef.Key)
			}
		}
	}
	return env
}

// checkSettings: every variable the manifests set for the service is one the
// README documents, and the addresses name our Services.
func checkSettings(t *testing.T, r rendered, api, trainer workload) {
	table := readmeTable(t)
	for _, w := range []workload{api, trainer} {
		env := settings(t, r, mainContainer(t, w))
		for _, name := range slices.Sorted(maps.Keys(env)) {
			if !table[name] {
				t.Errorf("%s: %s is set but is not in the README's configuration table", w.name, name)
			}
		}
		for key, service := range map[string]string{"QDRANT_URL": "qdrant", "LLM_BASE_URL": "llm"} {
			if u, err := url.Parse(env[key]); err != nil || !hasService(r, u) {
				t.Errorf("%s: %s=%q: want the address of our %s Service", w.name, key, env[key], service)
			}
		}
		if _, ok := env["REDIS_URL"]; !ok {
			t.Errorf("%s: no REDIS_URL", w.name)
		}
		// The server answers the Ingress's hosts (421 otherwise): *.localhost always, others when listed.
		allowed := strings.Split(env["ALLOWED_HOSTS"], ",")
		for _, ing := range r.ingresses {
			for _, rule := range ing.Spec.Rules {
				if !strings.HasSuffix(rule.Host, ".localhost") && !slices.Contains(allowed, rule.Host) {
					t.Errorf("%s: ALLOWED_HOSTS %q lacks the Ingress host %q", w.name, env["ALLOWED_HOSTS"], rule.Host)
				}
			}
		}
		llm := types.ShellCommand(mainContainer(t, r.workload(t, "llm")).Args)
		if alias := flagValue(llm, "--alias"); alias == "" || alias != env["LLM_MODEL"] {
			t.Errorf("llm: --alias %q, %s LLM_MODEL %q: want the same name", alias, w.name, env["LLM_MODEL"])
		}
	}
	// The Secret's REDIS_URL carries the password Redis requires; every value is a placeholder.
	for _, s := range r.secrets {
		for k, v := range s.Data {
			if !strings.Contains(string(v), "example-not-a-secret") {
				t.Errorf("Secret %s: %s is not the placeholder example-not-a-secret: no real value is committed", s.Name, k)
			}
		}
		if u, err := url.Parse(string(s.Data["REDIS_URL"])); s.Data["REDIS_URL"] != nil {
			pw, _ := u.User.Password()
			if err != nil || !hasService(r, u) || pw == "" || pw != string(s.Data["REDIS_PASSWORD"]) {
				t.Errorf("Secret %s: REDIS_URL must reach our redis Service with REDIS_PASSWORD", s.Name)
			}
		}
	}
}

// hasService says whether u's host and port are a rendered Service's.
func hasService(r rendered, u *url.URL) bool {
	for _, s := range r.services {
		for _, p := range s.Spec.Ports {
			if u.Hostname() == s.Name && u.Port() == fmt.Sprint(p.Port) {
				return true
			}
		}
	}
	return false
}

// checkModels: the data folder is each pod's own; only models/ (MODELS_DIR)
// is a claim shared by the API and trainer pods.
func checkModels(t *testing.T, r rendered, o overlay, api, trainer workload) {
	var claim string
	for _, w := range []workload{api, trainer} {
		c := mainContainer(t, w)
		env := settings(t, r, c)
		dataDir, modelsDir := env["DATA_DIR"], env["MODELS_DIR"]
		if dataDir == "" || modelsDir != path.Join(dataDir, "models") {
			t.Errorf("%s: DATA_DIR %q, MODELS_DIR %q: want MODELS_DIR the data folder's models/", w.name, dataDir, modelsDir)
		}
		if !mountsEmptyDir(w.template.Spec, c, dataDir) {
			t.Errorf("%s: the data folder %s is not the pod's own emptyDir", w.name, dataDir)
		}
		v := mountAt(w.template.Spec, c, modelsDir)
		if v == nil || v.PersistentVolumeClaim == nil {
			t.Errorf("%s: no claim mounted at %s", w.name, modelsDir)
			continue
		}
		if claim != "" && v.PersistentVolumeClaim.ClaimName != claim {
			t.Errorf("%s mounts claim %s at %s, the other %s", w.name, v.PersistentVolumeClaim.ClaimName, modelsDir, claim)
		}
		claim = v.PersistentVolumeClaim.ClaimName
	}
	if pvc := r.claims[claim]; pvc == nil || !slices.Equal(pvc.Spec.AccessModes, o.modelsModes) {
		t.Errorf("the models claim %q: %+v, want access modes %v", claim, pvc, o.modelsModes)
	}
}

// checkStores: Redis and Qdrant are StatefulSets keeping their data on a
// claim of their own; Redis persists its writes and requires the password.
func checkStores(t *testing.T, r rendered) {
	for name, dataDir := range map[string]string{"redis": "/data", "qdrant": "/qdrant/storage"} {
		var set *appsv1.StatefulSet
		for _, s := range r.statefulSets {
			if s.Name == name {
				set = s
			}
		}
		if set == nil {
			t.Errorf("no StatefulSet %s", name)
			continue
		}
		mounted := false
		for _, m := range set.Spec.Template.Spec.Containers[0].VolumeMounts {
			for _, vct := range set.Spec.VolumeClaimTemplates {
				mounted = mounted || m.Name == vct.Name && m.MountPath == dataDir
			}
		}
		if !mounted {
			t.Errorf("StatefulSet %s: no volumeClaimTemplate mounted at %s", name, dataDir)
		}
	}
	redis := r.workload(t, "redis").template.Spec.Containers[0]
	args := strings.Join(redis.Args, " ")
	if !strings.Contains(args, "--appendonly yes") || !strings.Contains(args, "--requirepass $(REDIS_PASSWORD)") {
		t.Errorf("redis: args %q: want --appendonly yes and --requirepass $(REDIS_PASSWORD)", args)
	}
}

// checkNetworkPolicies: Redis, Qdrant and the llm admit our API and trainer
// pods only.
func checkNetworkPolicies(t *testing.T, r rendered, api, trainer workload) {
	for _, name := range []string{"redis", "qdrant", "llm"} {
		pod := r.workload(t, name).template.Labels
		covered := false
		for _, np := range r.policies {
			if !selects(np.Spec.PodSelector.MatchLabels, pod) || len(np.Spec.PodSelector.MatchExpressions) > 0 {
				continue
			}
			covered = slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
			for _, rule := range np.Spec.Ingress {
				if len(rule.From) == 0 {
					t.Errorf("NetworkPolicy %s admits every source", np.Name)
				}
				for _, peer := range rule.From {
					if peer.IPBlock != nil || peer.NamespaceSelector != nil || peer.PodSelector == nil ||
						!onlyOurs(*peer.PodSelector, api, trainer) {
						t.Errorf("NetworkPolicy %s admits %+v, want our API and trainer pods only", np.Name, peer)
					}
				}
			}
		}
		if !covered {
			t.Errorf("no NetworkPolicy restricts what reaches %s", name)
		}
	}
}

func onlyOurs(sel metav1.LabelSelector, api, trainer workload) bool {
	return len(sel.MatchExpressions) == 0 && selects(sel.MatchLabels, api.template.Labels) &&
		selects(sel.MatchLabels, trainer.template.Labels)
}

// checkGPU: exactly the overlay's GPU workloads request a GPU, and those run
// on GPU nodes (node selector and toleration).
func checkGPU(t *testing.T, r rendered, o overlay) {
	gpu := corev1.ResourceName("nvidia.com/gpu")
	var got []string
	for _, w := range r.workloads() {
		pod := w.template.Spec
		asks := false
		for _, c := range pod.Containers {
			limit, request := c.Resources.Limits[gpu], c.Resources.Requests[gpu]
			asks = asks || !limit.IsZero() || !request.IsZero()
		}
		if asks {
			got = append(got, w.name)
		}
		tolerates := slices.ContainsFunc(pod.Tolerations, func(tol corev1.Toleration) bool { return tol.Key == string(gpu) })
		onGPUNode := slices.ContainsFunc(slices.Collect(maps.Keys(pod.NodeSelector)), func(k string) bool {
			return strings.HasPrefix(k, "nvidia.com/")
		})
		if asks != tolerates || asks != onGPUNode {
			t.Errorf("%s: GPU requested %v, node selector %v, tolerations %+v: want all three or none", w.name, asks, pod.NodeSelector, pod.Tolerations)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, o.gpu) {
		t.Errorf("workloads requesting nvidia.com/gpu: %v, want %v", got, o.gpu)
	}
}

// checkDashboards: one ConfigMap holds every dashboard of deploy/grafana, as
// they are, labelled for Grafana's dashboard sidecar.
func checkDashboards(t *testing.T, r rendered) {
	for _, cm := range r.configMaps {
		if cm.Labels["grafana_dashboard"] != "1" {
			continue
		}
		got := slices.Sorted(maps.Keys(cm.Data))
		if want := slices.Sorted(slices.Values(wantDashboards)); !slices.Equal(got, want) {
			t.Errorf("ConfigMap %s holds %v, want the dashboards %v", cm.Name, got, want)
		}
		for name, body := range cm.Data {
			if body != readRepoFile(t, filepath.Join("deploy/grafana/dashboards", name)) {
				t.Errorf("ConfigMap %s: %s differs from deploy/grafana/dashboards/%s", cm.Name, name, name)
			}
		}
		return
	}
	t.Error("no ConfigMap labelled grafana_dashboard")
}
