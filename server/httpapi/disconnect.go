//go:build linux || darwin

package httpapi

import (
	"context"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
)

// clientPoll is how often a waiting handler looks at its client's connection.
const clientPoll = 250 * time.Millisecond

// untilClientGone returns a context derived from c's that also ends when the
// client closes its connection, for handlers that wait long (analyses), so
// that nobody's work runs on for a client that has left.
//
// fasthttp reads nothing from a connection while its handler runs, so it
// never notices a client that went away. Here a goroutine peeks at the socket
// every clientPoll (recv with MSG_PEEK|MSG_DONTWAIT, which consumes nothing,
// so a pipelined request is left for fasthttp): end of stream or a reset
// means the client is gone. Limits: a client that half-closes its side after
// sending the request (shutdown(SHUT_WR)) looks gone too, as it does to
// net/http; behind a reverse proxy the socket is the proxy's, so a client's
// departure is seen only if the proxy closes its upstream connection; TLS
// connections (and app.Test's in-memory ones) are not sockets and are not
// watched.
func untilClientGone(c *fiber.Ctx) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(c.UserContext())
	conn := c.Context().Conn()
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return ctx, cancel
	}
	// The read deadline fasthttp set for this request (ReadTimeout, shorter
	// than an analysis) would make every later peek fail, which reads as a
	// client gone; fasthttp sets a new one before it reads the next request.
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		return ctx, cancel
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return ctx, cancel
	}
	go func() {
		tick := time.NewTicker(clientPoll)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if peerClosed(raw) {
				cancel()
				return
			}
		}
	}()
	return ctx, cancel
}

// peerClosed reports whether the peer of raw has closed the connection or
// reset it, without reading anything from it.
func peerClosed(raw syscall.RawConn) bool {
	var closed bool
	var buf [1]byte
	err := raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EAGAIN || err == syscall.EINTR:
		case err != nil:
			closed = true // a reset
		case n == 0:
			closed = true // end of stream
		}
		return true // never wait for the socket to become readable
	})
	return closed || err != nil
}
