package compression

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin/internal/encoding"
	"github.com/pingap-go/pingap/dataplane/plugin/internal/transform"
)

// mode is what a responseWriter does with the body.
type mode int

const (
	modePass    mode = iota // untouched
	modeDiscard             // HEAD: headers changed, no body
	modeEncode              // through an encoder
	modeDecode              // decoded, then maybe through an encoder
)

// errAborted ends a decoding goroutine when the handler panics.
var errAborted = errors.New("compression: response aborted")

// responseWriter compresses (or decodes) the body written to it. It
// decides when the headers are written, and keeps http.Flusher,
// http.Hijacker and http.ResponseController working.
type responseWriter struct {
	rw     http.ResponseWriter
	c      *compressor
	accept []string // the request's Accept-Encoding lines
	head   bool     // HEAD request
	ranged bool     // the request has Range

	wroteHeader bool
	mode        mode
	codec       *codec
	enc         *pooledEncoder // modeEncode, and modeDecode when re-encoding
	dec         *decoding      // modeDecode
}

// Header implements http.ResponseWriter.
func (w *responseWriter) Header() http.Header { return w.rw.Header() }

// WriteHeader implements http.ResponseWriter: the decision is taken with
// the final status.
func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader || code < http.StatusOK {
		w.rw.WriteHeader(code)
		return
	}
	w.wroteHeader = true
	w.decide(code, nil)
	w.rw.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.wroteHeader = true
		w.decide(http.StatusOK, p)
		w.rw.WriteHeader(http.StatusOK)
	}
	switch w.mode {
	case modeDiscard:
		return len(p), nil
	case modeEncode:
		return w.enc.Write(p)
	case modeDecode:
		return w.dec.pw.Write(p)
	}
	return w.rw.Write(p)
}

// decide sets the response headers and the mode, before the headers go
// out. first is the first body chunk when Write sends the headers.
func (w *responseWriter) decide(code int, first []byte) {
	if !transform.Changeable(code) {
		return
	}
	h := w.rw.Header()
	if ce := transform.Encoding(h); ce != "" {
		w.decideDecode(h, ce)
		return
	}
	if ct := transform.ContentType(h, first); ct == "" || config.IsGRPCContentType(ct) || !w.c.types.Match(ct) || noTransform(h) {
		return
	}
	addVary(h)
	if w.ranged {
		return
	}
	if n, known := contentLength(h); known && n < w.c.minLength {
		return
	}
	target := encoding.Negotiate(w.accept, w.c.offers)
	if target == "" {
		return
	}
	h.Set("Content-Encoding", target)
	encodedHeaders(h)
	if w.head {
		w.mode = modeDiscard
		return
	}
	w.codec = w.c.codec(target)
	w.enc = w.codec.get(w.rw)
	w.mode = modeEncode
}

// decideDecode handles a response already encoded with ce: it passes,
// unless decompression is on, ce is a coding the plugin decodes and the
// client does not accept it.
func (w *responseWriter) decideDecode(h http.Header, ce string) {
	if !w.c.decompress || !decodable(ce) || noTransform(h) || w.ranged {
		return
	}
	addVary(h)
	if encoding.Preference(w.accept, ce) > 0 {
		return
	}
	target := ""
	if ct := h.Get("Content-Type"); !config.IsGRPCContentType(ct) && w.c.types.Match(ct) {
		target = encoding.Negotiate(w.accept, w.c.offers)
	}
	if target == "" {
		h.Del("Content-Encoding")
	} else {
		h.Set("Content-Encoding", target)
	}
	encodedHeaders(h)
	if w.head {
		w.mode = modeDiscard
		return
	}
	var out io.Writer = w.rw
	if target != "" {
		w.codec = w.c.codec(target)
		w.enc = w.codec.get(w.rw)
		out = w.enc
	}
	w.dec = startDecoding(ce, out)
	w.mode = modeDecode
}

// encodedHeaders adjusts the headers of a body the plugin changes (see
// transform.BodyChanged); its byte ranges are no longer the upstream's
// either.
func encodedHeaders(h http.Header) {
	transform.BodyChanged(h)
	h.Del("Accept-Ranges")
}

// finish ends the body once the handler has returned.
func (w *responseWriter) finish() {
	switch w.mode {
	case modeEncode:
		_ = w.enc.Close()
		w.codec.put(w.enc)
	case modeDecode:
		_ = w.dec.pw.Close()
		<-w.dec.done
		if err := w.dec.err; err != nil {
			w.release()
			w.c.logger.Warn("decoding the upstream body failed; response aborted", "err", err)
			// The headers are gone: abort the connection so the client
			// sees a truncated response, not a complete-looking one.
			panic(http.ErrAbortHandler)
		}
		if w.enc != nil {
			_ = w.enc.Close()
			w.codec.put(w.enc)
		}
	}
}

// abort releases what the response holds when the handler panicked; the
// body is left unterminated on purpose.
func (w *responseWriter) abort() {
	if w.mode == modeDecode {
		_ = w.dec.pw.CloseWithError(errAborted)
		<-w.dec.done
		if w.dec.err != nil { // the handler's write failed because decoding did
			w.c.logger.Warn("decoding the upstream body failed; response aborted", "err", w.dec.err)
		}
	}
	w.release()
}

// release returns an unfinished encoder to its pool (get resets it).
func (w *responseWriter) release() {
	if w.enc != nil {
		w.codec.put(w.enc)
		w.enc = nil
	}
}

// FlushError sends what the encoder holds, then flushes the connection,
// so streamed responses (SSE) reach the client as they are written. When
// decoding, what the decoder still holds waits for more input.
func (w *responseWriter) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	switch w.mode {
	case modeEncode:
		if err := w.enc.Flush(); err != nil {
			return err
		}
	case modeDecode:
		w.dec.mu.Lock()
		defer w.dec.mu.Unlock()
		if w.enc != nil {
			if err := w.enc.Flush(); err != nil {
				return err
			}
		}
	}
	return http.NewResponseController(w.rw).Flush()
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// Hijack implements http.Hijacker (upgrades never reach the encoder).
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.rw).Hijack()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.rw }

// decoding is a body being decoded: the handler writes the encoded bytes
// into pw, a goroutine decodes them into out. mu serialises the
// goroutine's writes with the handler's flushes.
type decoding struct {
	pw   *io.PipeWriter
	mu   sync.Mutex
	done chan struct{}
	err  error // set before done closes
}

// decodeBuffer is the size of the decoding goroutine's read buffer.
const decodeBuffer = 32 << 10

func startDecoding(coding string, out io.Writer) *decoding {
	pr, pw := io.Pipe()
	d := &decoding{pw: pw, done: make(chan struct{})}
	go d.run(coding, pr, out)
	return d
}

func (d *decoding) run(coding string, pr *io.PipeReader, out io.Writer) {
	defer close(d.done)
	err := d.copy(coding, pr, out)
	// Unblock the handler's writes, with the error if any.
	_ = pr.CloseWithError(cmpErr(err, io.ErrClosedPipe))
	if !errors.Is(err, errAborted) {
		d.err = err
	}
}

func (d *decoding) copy(coding string, pr *io.PipeReader, out io.Writer) error {
	r, release, err := newDecoder(coding, pr)
	if err != nil {
		return err
	}
	defer release()
	buf := make([]byte, decodeBuffer)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			d.mu.Lock()
			_, werr := out.Write(buf[:n])
			d.mu.Unlock()
			if werr != nil {
				return werr
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

func cmpErr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// noTransform reports whether Cache-Control forbids changing the body.
func noTransform(h http.Header) bool {
	for _, v := range h["Cache-Control"] {
		for d := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(d, "=")
			if strings.EqualFold(strings.TrimSpace(name), "no-transform") {
				return true
			}
		}
	}
	return false
}

// contentLength is the declared Content-Length, if it parses.
func contentLength(h http.Header) (int64, bool) {
	v := h["Content-Length"]
	if len(v) != 1 {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v[0]), 10, 64)
	return n, err == nil && n >= 0
}

// addVary adds Accept-Encoding to Vary unless it is there (or Vary is
// "*"). It appends to the last value, in a new slice: a header value slice
// may be shared with a template (the mock plugin's).
func addVary(h http.Header) {
	vals := h["Vary"]
	for _, v := range vals {
		for tok := range strings.SplitSeq(v, ",") {
			tok = strings.TrimSpace(tok)
			if tok == "*" || strings.EqualFold(tok, "Accept-Encoding") {
				return
			}
		}
	}
	if len(vals) == 0 || strings.TrimSpace(vals[len(vals)-1]) == "" {
		h["Vary"] = append(slices.Clip(vals[:max(len(vals)-1, 0)]), "Accept-Encoding")
		return
	}
	merged := slices.Clone(vals)
	merged[len(merged)-1] += ", Accept-Encoding"
	h["Vary"] = merged
}
