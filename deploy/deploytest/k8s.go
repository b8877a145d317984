package deploytest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Kustomize renders the kustomization in dir as `kubectl kustomize dir` does
// with its default options (which is what `kubectl apply -k` applies). A
// missing kubectl is an error saying so in one line.
func Kustomize(dir string) ([]byte, error) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		return nil, errors.New("deploytest: kubectl is not on PATH: install it (its built-in kustomize renders deploy/k8s)")
	}
	var stderr bytes.Buffer
	cmd := exec.Command(kubectl, "kustomize", dir)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("deploytest: kubectl kustomize %s: %w: %s", dir, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// scheme knows the API types our manifests may use; any other kind is an error.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme,
		autoscalingv2.AddToScheme, networkingv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// DecodeManifests reads a multi-document YAML stream of Kubernetes objects
// into their k8s.io/api types (*appsv1.Deployment, *corev1.Service, …), in
// order. Decoding is strict: a kind the scheme does not know, a field the type
// does not have and a key given twice are errors naming the document.
func DecodeManifests(data []byte) ([]runtime.Object, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objects []runtime.Object
	for n := 1; ; n++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objects, nil
		}
		if err != nil {
			return nil, fmt.Errorf("deploytest: document %d: %w", n, err)
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return nil, fmt.Errorf("deploytest: document %d: %w", n, err)
		}
		if head.Kind == "" {
			if len(bytes.TrimSpace(doc)) == 0 || string(bytes.TrimSpace(doc)) == "---" {
				continue
			}
			return nil, fmt.Errorf("deploytest: document %d has no kind", n)
		}
		gv, err := schema.ParseGroupVersion(head.APIVersion)
		if err != nil {
			return nil, fmt.Errorf("deploytest: document %d (%s %s): %w", n, head.Kind, head.Metadata.Name, err)
		}
		obj, err := scheme.New(gv.WithKind(head.Kind))
		if err != nil {
			return nil, fmt.Errorf("deploytest: document %d (%s %s): %w", n, head.Kind, head.Metadata.Name, err)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("deploytest: %s %s: %w", head.Kind, head.Metadata.Name, err)
		}
		objects = append(objects, obj)
	}
}
