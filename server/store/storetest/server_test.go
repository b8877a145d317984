package storetest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// A machine without redis-server fails the Redis tests with one line saying how to install it;
// they used to skip unless CI was set, so a plain make test passed while testing less. The test
// runs itself again as a child whose PATH holds no redis-server.
func TestFinding01RedisMissingFails(t *testing.T) {
	const child = "STORETEST_WITHOUT_REDIS"
	if os.Getenv(child) == "1" {
		NewServer(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFinding01RedisMissingFails$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), child+"=1", "PATH="+t.TempDir(), "CI=")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("without redis-server the test passed:\n%s", out)
	}
	text := string(out)
	if !strings.Contains(text, "--- FAIL: TestFinding01RedisMissingFails") || strings.Contains(text, "--- SKIP") {
		t.Fatalf("without redis-server the test did not fail:\n%s", text)
	}
	if strings.Count(text, MissingRedis) != 1 {
		t.Fatalf("want the one line %q:\n%s", MissingRedis, text)
	}
}
