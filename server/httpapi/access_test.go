package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp/fasthttputil"

	"stockagent/server/ratelimit"
	"stockagent/server/store"
	"stockagent/server/store/storetest"
)

// fromPeer serves app on an in-memory listener and returns a function that sends
// one request over a new connection whose address, as the server sees it, is peer:
// non-loopback callers without a network set up for them.
func fromPeer(t *testing.T, app *fiber.App) func(peer, method, path, body string, header map[string]string) (int, map[string]any, http.Header) {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	go func() { _ = app.Listener(ln) }() // returns when Shutdown closes ln
	t.Cleanup(func() { _ = app.Shutdown() })
	return func(peer, method, path, body string, header map[string]string) (int, map[string]any, http.Header) {
		t.Helper()
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
			DialContext: func(context.Context, string, string) (net.Conn, error) {
				return ln.DialWithLocalAddr(&net.TCPAddr{IP: net.ParseIP(peer), Port: 40000})
			}}}
		req, err := http.NewRequest(method, "http://localhost"+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var out map[string]any
		_ = json.Unmarshal(raw, &out) // not every answer is JSON: callers check the status first
		return res.StatusCode, out, res.Header
	}
}

func trusting(cidrs ...string) func(*Deps) {
	return func(d *Deps) {
		for _, c := range cidrs {
			d.TrustedProxies = append(d.TrustedProxies, netip.MustParsePrefix(c))
		}
	}
}

// withLockout limits failed authentications to 3 a minute in st; apps given
// it share the counts, as replicas do.
func withLockout(t *testing.T, st ratelimit.LockStore) func(*Deps) {
	p, _ := ratelimit.ParsePolicy("auth_failures", "3/minute")
	l, err := ratelimit.NewLockout(st, p)
	if err != nil {
		t.Fatal(err)
	}
	return func(d *Deps) { d.AuthFailures = l }
}

func FuzzClientAddress(f *testing.F) {
	f.Add([]byte{10, 0, 0, 1}, "203.0.113.9, 10.0.0.2", "1.2.3.4", true)
	f.Add([]byte{10, 0, 0, 1}, "garbage,,", "", true)
	f.Add([]byte{192, 0, 2, 1}, "127.0.0.1", "::1", false)
	f.Add([]byte(net.ParseIP("::ffff:10.0.0.1").To16()), "[2001:db8::1]:443 , 10.9.9.9:80", "fe80::1%eth0", true)
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:1::/48")}
	f.Fuzz(func(t *testing.T, peerBytes []byte, forwarded, injected string, peerTrusted bool) {
		peer, ok := netip.AddrFromSlice(peerBytes)
		if !ok {
			return
		}
		if peerTrusted != isTrusted(peer.Unmap(), trusted) {
			return // each case asserts what its peer allows
		}
		got := clientAddress(peer, []string{forwarded}, trusted)
		if !got.IsValid() || got.Zone() != "" || got.Is4In6() {
			t.Fatalf("clientAddress(%v, %q) = %v: not a plain valid IP", peer, forwarded, got)
		}
		if !peerTrusted {
			if got != peer.Unmap() {
				t.Fatalf("an untrusted peer %v was replaced by %v from X-Forwarded-For %q", peer, got, forwarded)
			}
			return
		}
		// Whatever a client writes before what the trusted proxies appended is never
		// read once the walk has reached an address that is no proxy's.
		if !isTrusted(got, trusted) {
			if again := clientAddress(peer, []string{injected, forwarded}, trusted); again != got {
				t.Fatalf("client-written %q in front of %q moved the client from %v to %v", injected, forwarded, got, again)
			}
			if again := clientAddress(peer, []string{injected + "," + forwarded}, trusted); again != got {
				t.Fatalf("client-written %q joined to %q moved the client from %v to %v", injected, forwarded, got, again)
			}
		}
	})
}

// Finding 2: the identity limits key on is a configured key or the client address,
// never a header value a client picks.
func TestFinding02RateLimitIdentity(t *testing.T) {
	t.Run("random keys without API_KEYS share one limit", func(t *testing.T) {
		app, _, _ := newTestApp(t, withLimiter(t, nil))
		for i := range 6 {
			status, _, _ := request(t, app, "POST", "/train-parent", `{}`, map[string]string{"X-API-Key": "k" + strconv.Itoa(i)})
			if want := map[bool]int{true: 429, false: 200}[i == 5]; status != want {
				t.Fatalf("training %d with a new made-up key: %d, want %d", i+1, status, want)
			}
		}
	})
	t.Run("client-written X-Forwarded-For behind a trusted proxy", func(t *testing.T) {
		app, _, _ := newTestApp(t, withLimiter(t, nil), trusting("10.0.0.0/8"), func(d *Deps) { d.OpenAccess = true })
		send := fromPeer(t, app)
		for i := range 6 {
			// The proxy (10.0.0.5) appends the client's address after what the client wrote.
			xff := "198.51.100." + strconv.Itoa(i+1) + ", 203.0.113.7"
			status, _, _ := send("10.0.0.5", "POST", "/train-parent", `{}`, map[string]string{"X-Forwarded-For": xff})
			if want := map[bool]int{true: 429, false: 200}[i == 5]; status != want {
				t.Fatalf("training %d, X-Forwarded-For %q: %d, want %d", i+1, xff, status, want)
			}
		}
		status, _, _ := send("10.0.0.5", "POST", "/train-parent", `{}`, map[string]string{"X-Forwarded-For": "203.0.113.8"})
		if status != 200 {
			t.Fatalf("another client behind the proxy shared the limit: %d", status)
		}
	})
	t.Run("X-Forwarded-For from an untrusted peer is ignored", func(t *testing.T) {
		app, _, _ := newTestApp(t, withLimiter(t, nil), trusting("10.0.0.0/8"), func(d *Deps) { d.OpenAccess = true })
		send := fromPeer(t, app)
		for i := range 6 {
			status, _, _ := send("192.0.2.1", "POST", "/train-parent", `{}`,
				map[string]string{"X-Forwarded-For": "10.0.0." + strconv.Itoa(i+1)})
			if want := map[bool]int{true: 429, false: 200}[i == 5]; status != want {
				t.Fatalf("training %d from one untrusted peer: %d, want %d", i+1, status, want)
			}
		}
	})
}

// Finding 4: only admin may override promotion or force a training.
func TestFinding04PromotionNeedsAdmin(t *testing.T) {
	app, py, _ := newTestApp(t, func(d *Deps) {
		d.APIKeys, d.OpenAccess, d.AdminToken = []string{"trainer", "boss:admin"}, true, "t0ken"
	})
	close(py.release)
	py.trained["parent"] = true
	for name, header := range map[string]map[string]string{
		"anonymous": nil, "train key": {"X-API-Key": "trainer"},
	} {
		for _, body := range []string{`{"ticker":"AAPL","promote":"always"}`, `{"ticker":"AAPL","force":true}`} {
			status, out, _ := request(t, app, "POST", "/train-child", body, header)
			if detail, _ := out["detail"].(string); status != 403 || !strings.Contains(detail, "admin role") {
				t.Fatalf("%s %s: %d %v", name, body, status, out)
			}
		}
	}
	if status, out, _ := request(t, app, "POST", "/train-child", `{"ticker":"AAPL","promote":"auto"}`, nil); status != 200 {
		t.Fatalf("anonymous promote auto: %d %v", status, out)
	}
	for _, header := range []map[string]string{{"X-API-Key": "boss"}, {"Authorization": "Bearer t0ken"}} {
		status, out, _ := request(t, app, "POST", "/train-child", `{"ticker":"MSFT","promote":"always","force":true}`, header)
		if status != 200 || out["status"] == nil {
			t.Fatalf("admin %v: %d %v", header, status, out)
		}
	}
	// With MONITOR_AUTO_RETRAIN on, /monitor may start a forced retraining: admin only.
	retrains, _, _ := newTestApp(t, func(d *Deps) { d.APIKeys, d.MonitorRetrains = []string{"trainer", "boss:admin"}, true })
	if status, out, _ := request(t, retrains, "POST", "/monitor/AAPL", "", map[string]string{"X-API-Key": "trainer"}); status != 403 {
		t.Fatalf("train key, /monitor that may retrain: %d %v", status, out)
	}
	if status, out, _ := request(t, retrains, "POST", "/monitor/AAPL", "", map[string]string{"X-API-Key": "boss"}); status == 403 {
		t.Fatalf("admin key, /monitor that may retrain: %d %v", status, out)
	}
}

// Finding 6: wrong keys and tokens are limited per client address, a right
// credential from a locked-out address is refused too, others are unaffected,
// and the lock holds across replicas sharing one Redis.
func TestFinding06BruteForce(t *testing.T) {
	rdb, err := store.Open(storetest.StartRedis(t), store.WithPrefix(storetest.KeyPrefix(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	lockout := withLockout(t, rdb)
	keys := func(d *Deps) { d.APIKeys, d.AdminToken = []string{"right"}, "t0ken" }
	replicaA, _, _ := newTestApp(t, keys, lockout)
	replicaB, _, _ := newTestApp(t, keys, lockout)
	a, b := fromPeer(t, replicaA), fromPeer(t, replicaB)
	for name, wrong := range map[string]map[string]string{
		"wrong key": {"X-API-Key": "guess"}, "missing key": nil, "wrong admin token": {"Authorization": "Bearer guess"},
	} {
		attacker := "192.0.2." + strconv.Itoa(len(name))
		for i := range 3 {
			if status, _, _ := a(attacker, "GET", "/tasks", "", wrong); status != 401 && status != 403 {
				t.Fatalf("%s, try %d: %d", name, i+1, status)
			}
		}
		status, out, h := a(attacker, "GET", "/tasks", "", wrong)
		if retry, _ := strconv.Atoi(h.Get("Retry-After")); status != 429 || retry <= 0 || !strings.Contains(out["detail"].(string), "failed authentications") {
			t.Fatalf("%s, try 4: %d %v Retry-After %q", name, status, out, h.Get("Retry-After"))
		}
		if status, _, _ := b(attacker, "GET", "/tasks", "", map[string]string{"X-API-Key": "right"}); status != 429 {
			t.Fatalf("%s: the right key from the locked-out address on another replica: %d, want 429", name, status)
		}
		if status, _, _ := b("192.0.2.200", "GET", "/tasks", "", map[string]string{"X-API-Key": "right"}); status != 200 {
			t.Fatalf("%s: the right key from another address: %d", name, status)
		}
	}
}

// Protected mode: without API_KEYS only loopback callers are served; OPEN_ACCESS=1
// lets anyone read and train, never administer.
func TestProtectedMode(t *testing.T) {
	app, _, _ := newTestApp(t)
	send := fromPeer(t, app)
	status, out, _ := send("192.0.2.7", "GET", "/tasks", "", nil)
	if detail, _ := out["detail"].(string); status != 403 || !strings.Contains(detail, "API_KEYS") || !strings.Contains(detail, "OPEN_ACCESS=1") {
		t.Fatalf("non-loopback caller without keys: %d %v", status, out)
	}
	if status, _, _ := send("192.0.2.7", "GET", "/health", "", nil); status != 200 {
		t.Fatalf("/health from a non-loopback probe: %d", status)
	}
	for _, local := range []string{"127.0.0.1", "127.8.9.10", "::1"} {
		if status, out, _ := send(local, "DELETE", "/system/reset", "", nil); status != 200 {
			t.Fatalf("reset from loopback %s: %d %v", local, status, out)
		}
	}

	open, py, _ := newTestApp(t, func(d *Deps) { d.OpenAccess = true })
	py.trained["parent"] = true
	send = fromPeer(t, open)
	if status, out, _ := send("192.0.2.7", "POST", "/train-child", `{"ticker":"AAPL"}`, nil); status != 200 {
		t.Fatalf("OPEN_ACCESS training: %d %v", status, out)
	}
	for _, admin := range []struct{ method, path, body string }{
		{"DELETE", "/system/reset", ""}, {"GET", "/system/logs", ""}, {"POST", "/train-parent", `{"force":true}`},
	} {
		status, out, _ := send("192.0.2.7", admin.method, admin.path, admin.body, nil)
		if detail, _ := out["detail"].(string); status != 403 || !strings.Contains(detail, "needs the admin role") {
			t.Fatalf("OPEN_ACCESS %s %s: %d %v", admin.method, admin.path, status, out)
		}
	}
}

// Keys carry roles; a role-less key trains, a read key only reads.
func TestAPIKeyRoles(t *testing.T) {
	app, py, _ := newTestApp(t, func(d *Deps) { d.APIKeys = []string{"reader:read", "trainer", "boss:admin"} })
	py.trained["parent"] = true
	cases := []struct {
		key, method, path, body string
		status                  int
	}{
		{"reader", "GET", "/tasks", "", 200},
		{"reader", "POST", "/train-child", `{"ticker":"AAPL"}`, 403},
		{"trainer", "POST", "/train-child", `{"ticker":"AAPL"}`, 200},
		{"trainer", "GET", "/system/logs", "", 403},
		{"trainer", "DELETE", "/system/reset", "", 403},
		{"boss", "DELETE", "/system/reset", "", 200},
	}
	for _, tc := range cases {
		status, out, _ := request(t, app, tc.method, tc.path, tc.body, map[string]string{"X-API-Key": tc.key})
		if status != tc.status {
			t.Fatalf("%s %s with %s: %d %v, want %d", tc.method, tc.path, tc.key, status, out, tc.status)
		}
		if detail, _ := out["detail"].(string); status == 403 && !strings.Contains(detail, "role") {
			t.Fatalf("%s %s with %s: the 403 does not name the role: %v", tc.method, tc.path, tc.key, out)
		}
	}
}

// Swagger UI loads without a key and offers Authorize for X-API-Key and the admin bearer.
func TestSwaggerCanSendAKey(t *testing.T) {
	app, _, _ := newTestApp(t, func(d *Deps) { d.APIKeys = []string{"k"} })
	status, spec, _ := request(t, app, "GET", "/openapi.json", "", nil)
	var schemes struct {
		Components struct {
			SecuritySchemes map[string]struct{ Type, In, Name, Scheme string }
		}
	}
	raw, _ := json.Marshal(spec)
	if err := json.Unmarshal(raw, &schemes); err != nil {
		t.Fatal(err)
	}
	got := schemes.Components.SecuritySchemes
	if status != 200 || got["ApiKey"].In != "header" || got["ApiKey"].Name != "X-API-Key" || got["AdminToken"].Scheme != "bearer" {
		t.Fatalf("GET /openapi.json without a key: %d, security schemes %+v", status, got)
	}
}
