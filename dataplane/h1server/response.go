package h1server

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/pingap-go/pingap/config"
)

// bufferBeforeCommit is how much body a handler may write before the server
// must send the response head; a handler that returns within it gets a
// Content-Length.
const bufferBeforeCommit = 4096

// response is the http.ResponseWriter of one request. One lives in each conn
// and is reset per request.
type response struct {
	c      *conn
	req    *http.Request
	hd     *head
	body   *body // nil when the request has none
	header http.Header
	status int

	wroteHeader bool // a final status is chosen
	committed   bool // the head is written to the connection's buffer
	handlerDone bool
	chunked     bool
	closeAfter  bool

	declaredCL int64 // Content-Length set by the handler, -1 if none
	written    int64 // body bytes accepted from the handler
	pending    []byte
	pendingBuf *[bufferBeforeCommit]byte
	trailers   []string
	writeErr   error

	continuePending atomic.Bool // 100 Continue is still to be sent on the first body read
}

var (
	_ http.ResponseWriter = (*response)(nil)
	_ http.Flusher        = (*response)(nil)
	_ http.Hijacker       = (*response)(nil)
)

func (w *response) reset(req *http.Request, hd *head, b *body) {
	if w.header == nil {
		w.header = make(http.Header)
	} else {
		clear(w.header)
	}
	*w = response{c: w.c, req: req, hd: hd, body: b, header: w.header, declaredCL: -1}
	if hd.expectContinue {
		w.continuePending.Store(true)
	}
}

// Header implements http.ResponseWriter.
func (w *response) Header() http.Header { return w.header }

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// WriteHeader implements http.ResponseWriter. 1xx codes other than 101 are
// sent at once as informational responses.
func (w *response) WriteHeader(code int) {
	if w.c.hijacked || w.handlerDone || w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("h1server: invalid WriteHeader code %v", code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.writeInformational(code)
		return
	}
	w.wroteHeader = true
	w.status = code
	if v := w.header["Content-Length"]; len(v) == 1 {
		if n, ok := parseContentLength(trimOWS(v[0])); ok {
			w.declaredCL = n
		} else {
			delete(w.header, "Content-Length")
		}
	} else if len(v) > 1 {
		delete(w.header, "Content-Length")
	}
}

func (w *response) writeInformational(code int) {
	if w.continuePending.Load() {
		w.c.wmu.Lock()
		defer w.c.wmu.Unlock()
		if code == http.StatusContinue {
			w.continuePending.Store(false)
		}
	}
	w.c.writeStatusLine(code)
	w.writeFields()
	_, _ = w.c.bw.WriteString("\r\n")
	if err := w.c.bw.Flush(); err != nil {
		w.fail(err)
	}
}

// sendContinue writes "100 Continue" unless the response was committed.
// It runs on the goroutine reading the body.
func (w *response) sendContinue() {
	w.c.wmu.Lock()
	defer w.c.wmu.Unlock()
	if !w.continuePending.Load() {
		return
	}
	w.continuePending.Store(false)
	_, _ = w.c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
	_ = w.c.bw.Flush()
}

// Write implements http.ResponseWriter.
func (w *response) Write(p []byte) (int, error) {
	switch {
	case w.c.hijacked:
		return 0, http.ErrHijacked
	case w.handlerDone:
		return 0, errHandlerDone
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.declaredCL >= 0 && w.written+int64(len(p)) > w.declaredCL {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if w.req.Method == http.MethodHead {
		if !w.committed && w.written > bufferBeforeCommit {
			w.commit(false)
		}
		return len(p), nil
	}
	if !w.committed {
		if len(w.pending)+len(p) <= bufferBeforeCommit {
			if w.pendingBuf == nil {
				w.pendingBuf = pendingPool.Get().(*[bufferBeforeCommit]byte)
				w.pending = w.pendingBuf[:0]
			}
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		if err := w.commitPending(false); err != nil {
			return 0, err
		}
	}
	return w.writeBody(p)
}

// commitPending writes the response head and the body buffered so far (none
// for HEAD). final reports that the handler has returned.
func (w *response) commitPending(final bool) error {
	w.commit(final)
	_, err := w.writeBody(w.pending)
	w.releasePending()
	return err
}

func (w *response) releasePending() {
	if w.pendingBuf != nil {
		pendingPool.Put(w.pendingBuf)
		w.pendingBuf, w.pending = nil, nil
	}
}

// writeBody writes body bytes after the head, chunk-framed if chunked.
func (w *response) writeBody(p []byte) (int, error) {
	if w.writeErr != nil {
		return 0, w.writeErr
	}
	if len(p) == 0 {
		return 0, nil
	}
	bw := w.c.bw
	if w.chunked {
		hx := strconv.AppendInt(w.c.scratch[:0], int64(len(p)), 16)
		hx = append(hx, '\r', '\n')
		_, _ = bw.Write(hx)
	}
	n, err := bw.Write(p)
	if err == nil && w.chunked {
		_, err = bw.WriteString("\r\n")
	}
	if err != nil {
		w.fail(err)
	}
	return n, err
}

// fail records a write error: the connection closes and the request's
// context is cancelled (the client is gone).
func (w *response) fail(err error) {
	if w.writeErr == nil {
		w.writeErr = err
	}
	w.closeAfter = true
	w.c.cancelRequest()
}

// commit decides the framing and writes the response head. final reports
// that the handler has returned, so the buffered body is the whole body.
func (w *response) commit(final bool) {
	w.committed = true
	if w.continuePending.Load() {
		w.c.wmu.Lock()
		if w.continuePending.Load() {
			w.continuePending.Store(false)
			w.closeAfter = true // the client may still send the body, or not
		}
		w.c.wmu.Unlock()
	}
	h, status, c := w.header, w.status, w.c
	isHead := w.req.Method == http.MethodHead
	if vv := h["Trailer"]; len(vv) > 0 {
		w.trailers = parseTrailerNames(vv)
	}
	hasTrailers := len(w.trailers) > 0 || hasPrefixedTrailers(h)
	delete(h, "Transfer-Encoding")
	if !bodyAllowed(status) {
		// As net/http: no framing fields without a body, and a 304 carries
		// no Content-Type either.
		delete(h, "Content-Length")
		if status == http.StatusNotModified {
			delete(h, "Content-Type")
		}
		w.declaredCL = -1
	}
	computedCL := int64(-1)
	if bodyAllowed(status) && w.declaredCL < 0 {
		switch {
		case final && !hasTrailers && (!isHead || w.written > 0):
			computedCL = w.written
		case isHead:
		case w.hd.minor == 1:
			w.chunked = true
		default:
			w.closeAfter = true // HTTP/1.0: the body ends when the connection does
		}
	}
	handlerClose := httpguts.HeaderValuesContainsToken(h["Connection"], "close")
	if handlerClose || w.hd.close || c.srv.shuttingDown() || c.bodyBroken.Load() ||
		status == http.StatusSwitchingProtocols {
		w.closeAfter = true
	}
	if b := w.body; b != nil && !b.chunked && !b.sawEOF && b.remaining > maxDrain {
		w.closeAfter = true
	}
	c.writeStatusLine(status)
	w.writeFields()
	bw := c.bw
	if _, ok := h["Date"]; !ok {
		c.writeDate()
	}
	if computedCL >= 0 {
		cl := strconv.AppendInt(append(c.scratch[:0], "Content-Length: "...), computedCL, 10)
		_, _ = bw.Write(append(cl, '\r', '\n'))
	}
	if w.chunked {
		_, _ = bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	switch {
	case w.closeAfter && !handlerClose && status != http.StatusSwitchingProtocols:
		_, _ = bw.WriteString("Connection: close\r\n")
	case !w.closeAfter && w.hd.minor == 0:
		_, _ = bw.WriteString("Connection: keep-alive\r\n")
	}
	_, _ = bw.WriteString("\r\n")
}

// writeFields writes the handler's header fields, skipping invalid names and
// trailer-prefixed keys, with CR and LF in values replaced by spaces.
func (w *response) writeFields() {
	bw := w.c.bw
	for k, vv := range w.header {
		if !config.ValidHeaderName(k) {
			continue
		}
		for _, v := range vv {
			_, _ = bw.WriteString(k)
			_, _ = bw.WriteString(": ")
			_, _ = bw.WriteString(sanitizeValue(v))
			_, _ = bw.WriteString("\r\n")
		}
	}
}

func hasPrefixedTrailers(h http.Header) bool {
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return true
		}
	}
	return false
}

func parseTrailerNames(vv []string) []string {
	var names []string
	for _, v := range vv {
		forEachElement(v, func(e string) bool {
			if config.ValidHeaderName(e) {
				names = append(names, canonicalKey(e))
			}
			return true
		})
	}
	return names
}

// finish completes the response after the handler returned.
func (w *response) finish() {
	if w.c.hijacked {
		w.handlerDone = true
		return
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.handlerDone = true
	if !w.committed {
		_ = w.commitPending(true) // a write error closes the connection
	}
	if w.chunked {
		w.writeTrailers()
	}
	if w.declaredCL >= 0 && w.written < w.declaredCL && bodyAllowed(w.status) &&
		w.req.Method != http.MethodHead {
		w.closeAfter = true // the client sees a short body; never reuse
	}
}

func (w *response) writeTrailers() {
	bw := w.c.bw
	_, _ = bw.WriteString("0\r\n")
	field := func(k string, vv []string) {
		for _, v := range vv {
			_, _ = bw.WriteString(k)
			_, _ = bw.WriteString(": ")
			_, _ = bw.WriteString(sanitizeValue(v))
			_, _ = bw.WriteString("\r\n")
		}
	}
	for _, k := range w.trailers {
		field(k, w.header[k])
	}
	for k, vv := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok && config.ValidHeaderName(name) {
			field(canonicalKey(name), vv)
		}
	}
	if _, err := bw.WriteString("\r\n"); err != nil {
		w.fail(err)
	}
}

// FlushError sends the head, if not yet sent, and everything buffered. It
// is what http.ResponseController.Flush calls.
func (w *response) FlushError() error {
	switch {
	case w.c.hijacked:
		return http.ErrHijacked
	case w.handlerDone:
		return errHandlerDone
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		if err := w.commitPending(false); err != nil {
			return err
		}
	}
	if w.writeErr != nil {
		return w.writeErr
	}
	if err := w.c.bw.Flush(); err != nil {
		w.fail(err)
		return err
	}
	return nil
}

// Flush implements http.Flusher.
func (w *response) Flush() { _ = w.FlushError() }

// Hijack implements http.Hijacker. A status set with WriteHeader (such as
// 101) is written and flushed first. The returned ReadWriter holds the
// connection's buffers, with any bytes already read from the client.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	switch {
	case w.c.hijacked:
		return nil, nil, http.ErrHijacked
	case w.handlerDone:
		return nil, nil, errHandlerDone
	}
	if w.wroteHeader && !w.committed {
		if err := w.FlushError(); err != nil {
			return nil, nil, err
		}
	} else if err := w.c.bw.Flush(); err != nil {
		return nil, nil, err
	}
	c := w.c
	c.hijack()
	return c.rwc, bufio.NewReadWriter(c.br, c.bw), nil
}

// SetReadDeadline sets the connection's read deadline (for
// http.ResponseController).
func (w *response) SetReadDeadline(t time.Time) error {
	if w.c.hijacked {
		return http.ErrHijacked
	}
	return w.c.rwc.SetReadDeadline(t)
}

// SetWriteDeadline sets the connection's write deadline (for
// http.ResponseController).
func (w *response) SetWriteDeadline(t time.Time) error {
	if w.c.hijacked {
		return http.ErrHijacked
	}
	return w.c.rwc.SetWriteDeadline(t)
}

// EnableFullDuplex is for http.ResponseController: this server always lets
// a handler read the request body after writing the response.
func (w *response) EnableFullDuplex() error { return nil }
