package deploytest_test

// The delivery side of .github/workflows/ci.yml: a tag that passes the tests
// pushes both images and renders every overlay against them
// (.ci/release-manifests). actionlint (make lint) checks the workflow's syntax
// and expressions; this checks what the release job does.

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"stockagent/deploy/deploytest"
)

type workflow struct {
	Jobs map[string]struct {
		If    string   `json:"if"`
		Needs []string `json:"needs"`
		Steps []struct {
			Uses string            `json:"uses"`
			Run  string            `json:"run"`
			With map[string]any    `json:"with"`
			Env  map[string]string `json:"env"`
		} `json:"steps"`
	} `json:"jobs"`
}

func TestReleaseJob(t *testing.T) {
	var wf workflow
	if err := yaml.Unmarshal([]byte(readRepoFile(t, ".github/workflows/ci.yml")), &wf); err != nil {
		t.Fatal(err)
	}
	rel, ok := wf.Jobs["release"]
	if !ok {
		t.Fatal("ci.yml has no release job")
	}
	if rel.If != "startsWith(github.ref, 'refs/tags/v')" {
		t.Errorf("release runs on %q, want tags v* only", rel.If)
	}
	if !slices.Equal(rel.Needs, []string{"test"}) {
		t.Errorf("release needs %v, want the test job", rel.Needs)
	}
	var pushed, rendered []string
	for _, s := range rel.Steps {
		if strings.HasPrefix(s.Uses, "docker/build-push-action@") {
			if s.With["push"] != true {
				t.Errorf("%s is built but not pushed", s.With["file"])
			}
			pushed = append(pushed, s.With["file"].(string)+" "+s.With["tags"].(string))
		}
		if strings.Contains(s.Run, ".ci/release-manifests") {
			rendered = append(rendered, s.Run)
		}
	}
	// The tags the manifests script writes into the overlays.
	want := []string{
		"Dockerfile ${{ env.REPOSITORY }}/stockagent:${{ env.VERSION }}",
		"Dockerfile.cuda ${{ env.REPOSITORY }}/stockagent:${{ env.VERSION }}-cuda",
	}
	if !slices.Equal(pushed, want) {
		t.Errorf("release pushes %q, want %q", pushed, want)
	}
	if len(rendered) != 1 {
		t.Errorf("release renders the overlays %d times, want once", len(rendered))
	}
}

func TestReleaseManifests(t *testing.T) {
	script, err := filepath.Abs("../../.ci/release-manifests")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	const repo, version = "registry.example.com/team", "1.4.0"
	if b, err := exec.Command(script, repo, version, out).CombinedOutput(); err != nil {
		t.Fatalf("release-manifests: %v\n%s", err, b)
	}
	for name := range overlays {
		data, err := os.ReadFile(filepath.Join(out, "stockagent-"+name+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		objs, err := deploytest.DecodeManifests(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var ours []string
		for _, o := range objs {
			d, ok := o.(*appsv1.Deployment)
			if !ok {
				continue
			}
			for _, c := range slices.Concat(d.Spec.Template.Spec.InitContainers, d.Spec.Template.Spec.Containers) {
				if strings.Contains(c.Image, "stockagent") {
					ours = append(ours, d.Name+"="+c.Image)
				}
			}
		}
		if len(ours) == 0 {
			t.Fatalf("%s: no stockagent image in the release", name)
		}
		for _, img := range ours {
			_, ref, _ := strings.Cut(img, "=")
			if ref != repo+"/stockagent:"+version && ref != repo+"/stockagent:"+version+"-cuda" {
				t.Errorf("%s: %s is not a released image", name, img)
			}
		}
		if name == "gpu" && !slices.Contains(ours, "stockagent-trainer="+repo+"/stockagent:"+version+"-cuda") {
			t.Errorf("gpu: the trainer does not run the released CUDA image: %v", ours)
		}
	}
	for _, bad := range [][]string{{repo, "1.0 ; rm", out}, {"Registry#x", version, out}} {
		if err := exec.Command(script, bad...).Run(); err == nil {
			t.Errorf("release-manifests %q: accepted", bad)
		}
	}
}
