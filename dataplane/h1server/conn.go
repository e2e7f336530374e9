package h1server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// h2Preface opens an HTTP/2 connection with prior knowledge.
	h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	// lingerTimeout bounds the drain of a connection closed after an error
	// response, so the client reads the response instead of a reset.
	lingerTimeout = 500 * time.Millisecond
	// errorWriteTimeout bounds the write of a server-generated error.
	errorWriteTimeout = 5 * time.Second
	// stateClosing marks a connection the server closed (Shutdown, Close);
	// it is never reported to Config.ConnState.
	stateClosing http.ConnState = 255
)

func packState(st http.ConnState, unix int64) uint64 { return uint64(unix)<<8 | uint64(st) }

// conn is one served connection.
type conn struct {
	srv           *Server
	rwc           net.Conn
	br            *bufio.Reader
	bw            *bufio.Writer
	ctx           context.Context
	ctxCancelable bool
	remoteAddr    string
	tlsState      *tls.ConnectionState
	tlsChecked    bool
	state         atomic.Uint64 // packState(state, unix seconds of the change)

	wmu           sync.Mutex // guards bw between a body reader sending 100 Continue and the handler
	resp          response
	rs            *reqState
	cancel        context.CancelFunc // set when ctxCancelable
	reqStart      time.Time
	hijacked      bool
	handedOff     bool
	bodyBroken    atomic.Bool
	bodyMalformed atomic.Bool

	dateSec int64
	dateLen int
	date    [40]byte
	scratch [48]byte // for formatting numbers into bw without allocating
}

// setState records a transition and calls Config.ConnState. It reports
// false when the server already closed the connection.
func (c *conn) setState(st http.ConnState, now time.Time) bool {
	for {
		old := c.state.Load()
		if old != 0 && http.ConnState(old&0xff) == stateClosing {
			return false
		}
		if c.state.CompareAndSwap(old, packState(st, now.Unix())) {
			break
		}
	}
	if hook := c.srv.cfg.ConnState; hook != nil {
		hook(c.rwc, st)
	}
	return true
}

// finalState records a terminal state whatever the current one.
func (c *conn) finalState(st http.ConnState) {
	c.state.Store(packState(st, time.Now().Unix()))
	if hook := c.srv.cfg.ConnState; hook != nil {
		hook(c.rwc, st)
	}
}

// tryCloseIdle closes the connection if it is idle (or new and silent for
// 5s); it reports whether the connection is closed. Called under srv.mu.
func (c *conn) tryCloseIdle(now int64) bool {
	old := c.state.Load()
	st, since := http.ConnState(old&0xff), int64(old>>8)
	if st == stateClosing || st == http.StateClosed || st == http.StateHijacked {
		return true
	}
	if st != http.StateIdle && (st != http.StateNew || since > now-5) {
		return false
	}
	if !c.state.CompareAndSwap(old, packState(stateClosing, 0)) {
		return false
	}
	_ = c.rwc.Close()
	return true
}

func (c *conn) serve() {
	s := c.srv
	c.br = readerPool.Get().(*bufio.Reader)
	c.br.Reset(c.rwc)
	c.bw = writerPool.Get().(*bufio.Writer)
	c.bw.Reset(c.rwc)
	defer c.finish()
	defer func() {
		if v := recover(); v != nil {
			s.cfg.ErrorLog.Error("h1server: internal panic", "remote", c.remoteAddr, "panic", v, "stack", stack())
		}
	}()
	_ = c.rwc.SetReadDeadline(time.Now().Add(s.cfg.ReadHeaderTimeout))
	if !c.checkPreface() {
		return
	}
	for {
		c.reqStart = time.Now()
		if !c.setState(http.StateActive, c.reqStart) || !c.serveRequest() || s.shuttingDown() {
			return
		}
		if c.br.Buffered() == 0 {
			now := time.Now()
			if !c.setState(http.StateIdle, now) {
				return
			}
			_ = c.rwc.SetReadDeadline(now.Add(s.cfg.IdleTimeout))
			if _, err := c.br.Peek(1); err != nil {
				return
			}
		}
		_ = c.rwc.SetReadDeadline(time.Now().Add(s.cfg.ReadHeaderTimeout))
	}
}

// finish closes the connection and returns its buffers, unless it was
// hijacked or handed to Config.H2.
func (c *conn) finish() {
	if c.hijacked || c.handedOff {
		return
	}
	c.srv.untrack(c)
	_ = c.rwc.Close()
	c.release()
	c.finalState(http.StateClosed)
}

func (c *conn) release() {
	c.resp.releasePending()
	c.br.Reset(nil)
	readerPool.Put(c.br)
	c.bw.Reset(nil)
	writerPool.Put(c.bw)
	c.br, c.bw = nil, nil
}

func (c *conn) hijack() {
	c.hijacked = true
	c.srv.untrack(c)
	_ = c.rwc.SetDeadline(time.Time{})
	c.finalState(http.StateHijacked)
}

// checkPreface waits for the first bytes of a new connection and hands it
// to Config.H2 if they are the HTTP/2 preface. It reports whether to serve
// HTTP/1.1.
func (c *conn) checkPreface() bool {
	if _, err := c.br.Peek(1); err != nil {
		return false
	}
	for {
		b, _ := c.br.Peek(c.br.Buffered())
		n := min(len(b), len(h2Preface))
		if string(b[:n]) != h2Preface[:n] {
			return true
		}
		if n == len(h2Preface) {
			break
		}
		if _, err := c.br.Peek(len(b) + 1); err != nil {
			return false
		}
	}
	if c.srv.cfg.H2 == nil {
		c.reject(&protoError{status: http.StatusHTTPVersionNotSupported, reason: "HTTP/2 preface without an H2 handler"})
		return false
	}
	b, _ := c.br.Peek(c.br.Buffered())
	buffered := bytes.Clone(b)
	c.handedOff = true
	c.srv.untrack(c)
	_ = c.rwc.SetDeadline(time.Time{})
	c.release()
	c.finalState(http.StateHijacked)
	c.srv.cfg.H2(c.rwc, buffered)
	return false
}

// serveRequest reads, serves and completes one request. It reports whether
// the connection may serve another.
func (c *conn) serveRequest() bool {
	s := c.srv
	raw, err := readHead(c.br, s.cfg.MaxHeaderBytes)
	if err != nil {
		var pe *protoError
		if errors.As(err, &pe) {
			c.reject(pe)
		}
		return false
	}
	if !c.tlsChecked {
		c.tlsChecked = true
		if tc, ok := c.rwc.(*tls.Conn); ok {
			st := tc.ConnectionState()
			c.tlsState = &st
		}
	}
	rs := new(reqState)
	rs.ctx.parent = c.ctx
	var ctx context.Context = &rs.ctx
	c.cancel = nil
	if c.ctxCancelable {
		ctx, c.cancel = context.WithCancel(c.ctx)
	}
	req, hd, perr := c.parseRequest(ctx, raw, rs)
	if perr != nil {
		if c.cancel != nil {
			c.cancel()
		}
		c.reject(perr)
		return false
	}
	rs.hd = hd
	c.rs = rs
	c.bodyBroken.Store(false)
	c.bodyMalformed.Store(false)
	var b *body
	if hd.chunked || hd.contentLength > 0 {
		rs.body = body{c: c, req: req, chunked: hd.chunked, remaining: max(hd.contentLength, 0)}
		b = &rs.body
		req.Body = b
		var deadline time.Time
		if s.cfg.ReadTimeout > 0 {
			deadline = c.reqStart.Add(s.cfg.ReadTimeout)
		}
		_ = c.rwc.SetReadDeadline(deadline)
	}
	if s.cfg.WriteTimeout > 0 {
		_ = c.rwc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	}
	w := &c.resp
	w.reset(req, &rs.hd, b)
	panicked, abort := c.runHandler(w, req)
	c.cancelRequest()
	if b != nil {
		b.done = true
	}
	if c.hijacked {
		return false
	}
	if panicked {
		w.handlerDone = true
		w.releasePending()
		if !abort && !w.committed {
			c.reject(&protoError{status: http.StatusInternalServerError, reason: "handler panic"})
		}
		return false
	}
	if c.bodyBroken.Load() && !w.committed {
		// The body failed and the handler sent nothing: answer for it.
		w.handlerDone = true
		w.releasePending()
		pe := badRequest("malformed or truncated request body")
		var ne net.Error
		if !c.bodyMalformed.Load() && errors.As(b.err, &ne) && ne.Timeout() {
			pe = &protoError{status: http.StatusRequestTimeout, reason: "request body timeout"}
		}
		c.reject(pe)
		return false
	}
	return c.complete(w, b)
}

// complete finishes the response, discards what is left of the request body
// and reports whether the connection may be reused.
func (c *conn) complete(w *response, b *body) bool {
	w.finish()
	keep := !w.closeAfter
	if keep && b != nil && !b.sawEOF {
		keep = c.bw.Flush() == nil && b.drain(maxDrain)
	}
	if !keep || c.br.Buffered() == 0 {
		if err := c.bw.Flush(); err != nil {
			return false
		}
	}
	if !keep {
		if b != nil && !b.sawEOF || c.br.Buffered() > 0 {
			c.linger()
		}
		return false
	}
	return true
}

func (c *conn) runHandler(w *response, req *http.Request) (panicked, abort bool) {
	defer func() {
		if v := recover(); v != nil {
			panicked = true
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				abort = true
				return
			}
			c.srv.cfg.ErrorLog.Error("h1server: panic serving request", "remote", c.remoteAddr,
				"method", req.Method, "uri", req.RequestURI, "panic", fmt.Sprint(v), "stack", stack())
		}
	}()
	c.srv.cfg.Handler.ServeHTTP(w, req)
	return false, false
}

func stack() string {
	buf := make([]byte, 64<<10)
	return string(buf[:runtime.Stack(buf, false)])
}

// cancelRequest cancels the current request's context.
func (c *conn) cancelRequest() {
	if c.cancel != nil {
		c.cancel()
	} else if c.rs != nil {
		c.rs.ctx.cancel(context.Canceled)
	}
}

// reject answers a request the server refuses with a short plain-text
// error and "Connection: close", then lingers so the client reads it.
func (c *conn) reject(pe *protoError) {
	if log := c.srv.cfg.ErrorLog; log.Enabled(context.Background(), -4) {
		log.Debug("h1server: request rejected", "remote", c.remoteAddr, "status", pe.status, "reason", pe.reason)
	}
	text := http.StatusText(pe.status)
	_ = c.rwc.SetWriteDeadline(time.Now().Add(errorWriteTimeout))
	c.writeStatusLine(pe.status)
	c.writeDate()
	bw := c.bw
	_, _ = bw.WriteString("Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: ")
	_, _ = bw.Write(strconv.AppendInt(c.scratch[:0], int64(len(text)+1), 10))
	_, _ = bw.WriteString("\r\n\r\n")
	_, _ = bw.WriteString(text)
	_, _ = bw.WriteString("\n")
	if bw.Flush() == nil {
		c.linger()
	}
}

// linger half-closes the connection and discards what the client still
// sends, for a short while, so that closing does not reset the connection
// before the client has read the response.
func (c *conn) linger() {
	cw, ok := c.rwc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	_ = c.rwc.SetReadDeadline(time.Now().Add(lingerTimeout))
	for total := 0; total < maxDrain; {
		n, err := c.br.Discard(c.br.Size())
		total += n
		if err != nil {
			return
		}
	}
}

func (c *conn) writeStatusLine(code int) {
	if code < len(statusLines) && statusLines[code] != "" {
		_, _ = c.bw.WriteString(statusLines[code])
		return
	}
	line := strconv.AppendInt(append(c.scratch[:0], "HTTP/1.1 "...), int64(code), 10)
	line = strconv.AppendInt(append(line, " status code "...), int64(code), 10)
	_, _ = c.bw.Write(append(line, '\r', '\n'))
}

// writeDate writes the Date field, formatted at most once a second.
func (c *conn) writeDate() {
	now := time.Now()
	if sec := now.Unix(); sec != c.dateSec || c.dateLen == 0 {
		b := append(c.date[:0], "Date: "...)
		b = now.UTC().AppendFormat(b, http.TimeFormat)
		b = append(b, '\r', '\n')
		c.dateSec, c.dateLen = sec, len(b)
	}
	_, _ = c.bw.Write(c.date[:c.dateLen])
}
