package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// netnsSwitch turns the network-namespace tests off where namespaces cannot be
// made (not root, a container without CAP_NET_ADMIN).
const netnsSwitch = "NETNS_TESTS"

// netnsPrefix starts the name of every namespace, bridge and veth a test
// makes, followed by the test process's pid and "-": leftovers of a process
// that died are recognised by it and removed.
const netnsPrefix = "sanet"

// lab is a small network on this machine: a bridge in the test's own network
// namespace with the subnet's first address, and namespaces wired into it,
// each with its own address. A namespace's link can be cut and healed.
type lab struct {
	t      *testing.T
	tag    string // netnsPrefix + pid + "-"
	subnet string // "10.213.N."
	hosts  int
}

// netns is one namespace of a lab.
type netns struct {
	name string // the namespace (ip netns)
	addr string // its address on the lab's bridge
	link string // the bridge's end of its veth, in the test's namespace
}

// newLab makes the lab's bridge, or fails t in one line when namespaces cannot
// be made (skips it with NETNS_TESTS=off). t's cleanup removes everything the
// lab made, whatever the test's outcome.
func newLab(t *testing.T) *lab {
	t.Helper()
	if os.Getenv(netnsSwitch) == "off" {
		t.Skip(netnsSwitch + "=off: the network-namespace tests are off")
	}
	l := &lab{t: t, tag: netnsPrefix + strconv.Itoa(os.Getpid()) + "-"}
	removeLeftovers(t)
	probe := l.tag + "probe"
	if out, err := exec.Command("ip", "netns", "add", probe).CombinedOutput(); err != nil {
		why := strings.TrimSpace(string(out))
		if why == "" {
			why = err.Error()
		}
		t.Fatalf("cannot make a network namespace (ip netns add: %s): run as root with iproute2, or set %s=off", why, netnsSwitch)
	}
	l.ip("netns", "del", probe)
	t.Cleanup(func() { removeTagged(t, l.tag) })
	l.subnet = freeSubnet(t)
	bridge := l.tag + "b"
	l.ip("link", "add", bridge, "type", "bridge")
	l.ip("addr", "add", l.subnet+"1/24", "dev", bridge)
	l.ip("link", "set", bridge, "up")
	return l
}

// add makes a namespace named for role, with lo up and a veth into the bridge.
func (l *lab) add(role string) netns {
	l.t.Helper()
	l.hosts++
	n := netns{name: l.tag + role, addr: l.subnet + strconv.Itoa(l.hosts+1), link: l.tag + "v" + strconv.Itoa(l.hosts)}
	l.ip("netns", "add", n.name)
	l.ip("link", "add", n.link, "type", "veth", "peer", "name", "eth0", "netns", n.name)
	l.ip("link", "set", n.link, "master", l.tag+"b", "up")
	l.ip("-n", n.name, "addr", "add", n.addr+"/24", "dev", "eth0")
	l.ip("-n", n.name, "link", "set", "eth0", "up")
	l.ip("-n", n.name, "link", "set", "lo", "up")
	return n
}

// exec is the command prefix that runs a program in n.
func (n netns) exec() []string { return []string{"ip", "netns", "exec", n.name} }

// cut takes n off the bridge: its packets are dropped, nothing is refused, as
// when a network partitions. heal puts it back.
func (l *lab) cut(n netns)  { l.ip("link", "set", n.link, "down") }
func (l *lab) heal(n netns) { l.ip("link", "set", n.link, "up") }

// ip runs ip with args and fails the test when it fails.
func (l *lab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
}

// freeSubnet picks a 10.213.N.0/24 that no address of this namespace is in.
func freeSubnet(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "-4", "-o", "addr", "show").Output()
	if err != nil {
		t.Fatalf("ip addr show: %v", err)
	}
	for i := range 250 {
		subnet := fmt.Sprintf("10.213.%d.", (os.Getpid()+i)%250+1)
		if !strings.Contains(string(out), " "+subnet) {
			return subnet
		}
	}
	t.Fatal("no free 10.213.N.0/24 subnet for the test network")
	return ""
}

var leftover = regexp.MustCompile(`^` + netnsPrefix + `(\d+)-`)

// removeLeftovers removes the namespaces and links of test processes that
// died without cleaning up (their pid is gone); a live one's are its own.
func removeLeftovers(t *testing.T) {
	t.Helper()
	seen := map[string]bool{}
	for _, name := range append(tagged("netns", netnsPrefix), tagged("link", netnsPrefix)...) {
		m := leftover.FindStringSubmatch(name)
		if m == nil || seen[m[0]] {
			continue
		}
		seen[m[0]] = true
		if _, err := os.Stat("/proc/" + m[1]); os.IsNotExist(err) {
			removeTagged(t, m[0])
		}
	}
}

// removeTagged deletes every namespace, then every link left, whose name
// starts with tag: a namespace takes its end of a veth with it, and the veth's
// other end goes with that.
func removeTagged(t *testing.T, tag string) {
	t.Helper()
	for _, object := range []string{"netns", "link"} {
		for _, name := range tagged(object, tag) {
			if out, err := exec.Command("ip", object, "del", name).CombinedOutput(); err != nil {
				t.Logf("leftover %s %s not removed: %v: %s", object, name, err, strings.TrimSpace(string(out)))
			}
		}
	}
}

// tagged lists the names of the namespaces (object "netns") or the links
// ("link") that start with tag.
func tagged(object, tag string) []string {
	args := []string{"netns", "list"}
	if object == "link" {
		args = []string{"-o", "link", "show"}
	}
	out, _ := exec.Command("ip", args...).Output()
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if object == "link" && len(f) > 1 {
			f = []string{strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0]}
		}
		if len(f) > 0 && strings.HasPrefix(f[0], tag) {
			names = append(names, f[0])
		}
	}
	return names
}

// password returns a random Redis password.
func password(t *testing.T) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// Where namespaces cannot be made, the partition test fails with one line that
// names NETNS_TESTS=off, and with the switch off it skips saying so. The test
// runs it again as a child whose PATH holds no ip.
func TestNetnsUnavailableFailsInOneLine(t *testing.T) {
	for _, c := range []struct{ value, want string }{{"", "--- FAIL: "}, {"off", "--- SKIP: "}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTrainerPartitionedFromRedis$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "PATH="+t.TempDir(), netnsSwitch+"="+c.value)
		out, err := cmd.CombinedOutput()
		text := string(out)
		if (err == nil) != (c.value == "off") || !strings.Contains(text, c.want+"TestTrainerPartitionedFromRedis") {
			t.Fatalf("%s=%q: %v, want %s:\n%s", netnsSwitch, c.value, err, c.want, text)
		}
		if n := strings.Count(text, netnsSwitch+"=off"); n != 1 {
			t.Fatalf("%s=%q: %d lines name %s=off, want one:\n%s", netnsSwitch, c.value, n, netnsSwitch, text)
		}
	}
}
