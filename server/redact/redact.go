// Package redact removes credentials from URLs before they are shown: in responses, in
// errors and in every log line (LLM_BASE_URL, REDIS_URL, QDRANT_URL, MLFLOW_TRACKING_URI may
// carry a user and password or a key in their query).
package redact

import (
	"context"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces a secret.
const Mask = "REDACTED"

// secretParam matches query parameter names that carry a credential.
var secretParam = regexp.MustCompile(`(?i)(key|token|secret|password|passwd|pwd|auth|signature|sig|credential)`)

// urlInText finds URLs in free text: a scheme, "://", and what follows up to a space or quote.
var urlInText = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>` + "`" + `]+`)

// URL is raw with its user information and secret query values masked. A string that does
// not parse is masked whole when it looks like it holds user information.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return Mask
		}
		return raw
	}
	changed := false
	if u.User != nil {
		u.User = url.User(Mask)
		changed = true
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if secretParam.MatchString(k) {
				q[k] = []string{Mask}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	if !changed {
		return raw
	}
	return u.String()
}

// Text is s with every URL in it passed through URL.
func Text(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlInText.ReplaceAllStringFunc(s, URL)
}

// Handler wraps h so that every record's message and attributes go through Text.
func Handler(h slog.Handler) slog.Handler { return handler{h} }

type handler struct{ next slog.Handler }

func (h handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Text(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler {
	for i, a := range as {
		as[i] = attr(a)
	}
	return handler{h.next.WithAttrs(as)}
}

func (h handler) WithGroup(name string) slog.Handler { return handler{h.next.WithGroup(name)} }

// attr redacts a string, an error or anything printed with %v; groups attr by attr.
func attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Text(v.String()))
	case slog.KindGroup:
		as := v.Group()
		out := make([]any, len(as))
		for i, g := range as {
			out[i] = attr(g)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if s := v.String(); strings.Contains(s, "://") {
			return slog.String(a.Key, Text(s))
		}
	}
	return a
}
