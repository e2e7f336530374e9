package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/pingap-go/pingap/dataplane/observe"
)

// DefaultUpgradeIdleTimeout closes an upgraded connection idle this long in
// both directions, when the upstream sets no upgrade_idle_timeout.
const DefaultUpgradeIdleTimeout = 10 * time.Minute

// upgradeType returns the protocol a request asks to switch to (WebSocket
// or another Upgrade), or "" when it does not. HTTP/2 requests cannot
// upgrade.
func upgradeType(r *http.Request) string {
	if r.ProtoMajor != 1 || !headerHasToken(r.Header, "Connection", "upgrade") {
		return ""
	}
	return r.Header.Get("Upgrade")
}

// headerHasToken reports whether the comma-separated values of h[name]
// hold token (case-insensitive). It does not allocate.
func headerHasToken(h http.Header, name, token string) bool {
	return httpguts.HeaderValuesContainsToken(h[name], token)
}

// switchProtocols completes an upgrade the target accepted (101): it sends
// the 101 to the client over the hijacked connection and then copies bytes
// both ways until either side closes or both are idle for idle.
func (l *Location) switchProtocols(w http.ResponseWriter, r *http.Request, resp *http.Response, want string, idle time.Duration) {
	back, ok := resp.Body.(io.ReadWriteCloser)
	if !ok || !strings.EqualFold(resp.Header.Get("Upgrade"), want) {
		_ = resp.Body.Close()
		l.logger.Warn("upstream switched to an unexpected protocol", "location", l.name,
			"asked", want, "got", resp.Header.Get("Upgrade"))
		WriteError(w, r, http.StatusBadGateway)
		return
	}
	defer back.Close()
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		l.logger.Warn("cannot take over the client connection for an upgrade", "location", l.name, "err", err)
		WriteError(w, r, http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	if rec := observe.From(w); rec != nil {
		rec.Status = http.StatusSwitchingProtocols
	}
	RemoveHopHeaders(resp.Header)
	resp.Header["Connection"] = []string{"Upgrade"}
	resp.Header["Upgrade"] = []string{want}
	_ = conn.SetDeadline(time.Time{})
	if err := writeSwitch(brw.Writer, resp.Header); err != nil {
		return
	}
	// Bytes the client sent after its request, already buffered.
	if br := brw.Reader; br.Buffered() > 0 {
		buf, _ := br.Peek(br.Buffered())
		if _, err := back.Write(buf); err != nil {
			return
		}
	}
	tunnel(conn, back, idle)
}

func writeSwitch(w *bufio.Writer, h http.Header) error {
	_, _ = w.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	if err := h.Write(w); err != nil {
		return err
	}
	_, _ = w.WriteString("\r\n")
	return w.Flush()
}

// tunnel copies bytes both ways until one side ends or the tunnel has been
// idle in both directions for idle; then it closes both.
func tunnel(client net.Conn, back io.ReadWriteCloser, idle time.Duration) {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			_ = client.Close()
			_ = back.Close()
		})
	}
	var timer *time.Timer
	check := func() {
		since := time.Duration(time.Now().UnixNano() - last.Load())
		if since >= idle {
			closeBoth()
			return
		}
		timer.Reset(idle - since)
	}
	timer = time.AfterFunc(idle, check)
	defer timer.Stop()

	done := make(chan struct{}, 2)
	pipe := func(dst io.Writer, src io.Reader) {
		bp := bufPool.Get().(*[]byte)
		defer bufPool.Put(bp)
		buf := *bp
		for {
			n, err := src.Read(buf)
			if n > 0 {
				last.Store(time.Now().UnixNano())
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		done <- struct{}{}
	}
	go pipe(back, client)
	go pipe(client, back)
	<-done
	closeBoth()
	<-done
}
