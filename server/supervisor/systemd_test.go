package supervisor_test

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// unitFile is the systemd unit in deploy/systemd.
const unitFile = "../../deploy/systemd/stockagent.service"

// parseUnit reads a systemd unit as systemd does (sections, Key=value lines, # and ;
// comments, repeatable keys), failing t on any line that is none of these.
func parseUnit(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	unit := map[string]map[string][]string{}
	var section string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
			if unit[section] != nil {
				t.Fatalf("%s:%d: section [%s] twice", path, n, section)
			}
			unit[section] = map[string][]string{}
		default:
			key, val, ok := strings.Cut(line, "=")
			if !ok || section == "" || strings.ContainsAny(strings.TrimSpace(key), " \t") {
				t.Fatalf("%s:%d: not a Key=value line in a section: %q", path, n, line)
			}
			key = strings.TrimSpace(key)
			unit[section][key] = append(unit[section][key], strings.TrimSpace(val))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return unit
}

// TestFinding13SystemdUnit: the unit parses, restarts the server after a crash, runs it as a
// user of its own with the hardening options, and is enabled at boot.
func TestFinding13SystemdUnit(t *testing.T) {
	unit := parseUnit(t, unitFile)
	for _, s := range []string{"Unit", "Service", "Install"} {
		if unit[s] == nil {
			t.Fatalf("no [%s] section", s)
		}
	}
	svc := unit["Service"]
	one := func(key string) string {
		t.Helper()
		if v := svc[key]; len(v) == 1 && v[0] != "" {
			return v[0]
		}
		t.Fatalf("[Service] %s: %q, want exactly one value", key, svc[key])
		return ""
	}
	if exe := one("ExecStart"); !strings.HasPrefix(exe, "/") || !strings.HasSuffix(strings.Fields(exe)[0], "/stockagent-server") {
		t.Errorf("ExecStart=%s: want the absolute path of stockagent-server", exe)
	}
	if r := one("Restart"); r != "on-failure" {
		t.Errorf("Restart=%s, want on-failure", r)
	}
	if u := one("User"); u == "root" || u == "0" {
		t.Errorf("User=%s: the server must not run as root", u)
	}
	for key, want := range map[string]string{
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
		"CapabilityBoundingSet": "", "StateDirectory": "stockagent",
	} {
		if v := svc[key]; len(v) != 1 || v[0] != want {
			t.Errorf("[Service] %s=%q, want %q", key, v, want)
		}
	}
	for _, env := range svc["Environment"] {
		if strings.Contains(env, "SUPERVISE=on") {
			t.Error("SUPERVISE=on under systemd: systemd is the supervisor")
		}
	}
	if w := unit["Install"]["WantedBy"]; len(w) != 1 || w[0] != "multi-user.target" {
		t.Errorf("[Install] WantedBy=%q", w)
	}
}
