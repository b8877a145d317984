package vectorstore

import "testing"

func TestParseQdrantURL(t *testing.T) {
	cases := map[string]struct {
		in      string
		host    string
		port    int
		tls     bool
		wantErr bool
	}{
		"http with port":     {in: "http://qdrant:6334", host: "qdrant", port: 6334},
		"https":              {in: "https://x.cloud.qdrant.io:6334", host: "x.cloud.qdrant.io", port: 6334, tls: true},
		"bare host and port": {in: "localhost:7000", host: "localhost", port: 7000},
		"bare host":          {in: "qdrant", host: "qdrant", port: 6334},
		"http without port":  {in: "http://qdrant", host: "qdrant", port: 6334},
		"trailing slash":     {in: "http://qdrant:6334/", host: "qdrant", port: 6334},
		"spaces":             {in: "  qdrant:6334 ", host: "qdrant", port: 6334},
		"IPv4":               {in: "127.0.0.1:6334", host: "127.0.0.1", port: 6334},
		"IPv6":               {in: "http://[::1]:6334", host: "[::1]", port: 6334},
		"empty":              {in: "", wantErr: true},
		"other scheme":       {in: "redis://qdrant:6334", wantErr: true},
		"path":               {in: "http://qdrant:6334/collections", wantErr: true},
		"query":              {in: "http://qdrant:6334?api_key=x", wantErr: true},
		"user info":          {in: "http://user:pw@qdrant:6334", wantErr: true},
		"bad port":           {in: "qdrant:http", wantErr: true},
		"port out of range":  {in: "qdrant:70000", wantErr: true},
		"no host":            {in: "http://:6334", wantErr: true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			host, port, tls, err := parseQdrantURL(c.in)
			if c.wantErr {
				if err == nil {
					t.Fatalf("parseQdrantURL(%q) = %q, %d, %v; want an error", c.in, host, port, tls)
				}
				return
			}
			if err != nil || host != c.host || port != c.port || tls != c.tls {
				t.Fatalf("parseQdrantURL(%q) = %q, %d, %v, %v; want %q, %d, %v", c.in, host, port, tls, err, c.host, c.port, c.tls)
			}
		})
	}
}
