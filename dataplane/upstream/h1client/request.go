package h1client

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/net/http/httpguts"
)

// Body framing of a request.
const (
	bodyNone = iota
	bodyFixed
	bodyChunked
)

// bodyPlan is how a request body is framed on the wire.
type bodyPlan struct {
	mode int
	n    int64 // bodyFixed: the length
}

func planBody(req *http.Request) bodyPlan {
	switch {
	case !hasBody(req):
		return bodyPlan{mode: bodyNone}
	case len(req.Trailer) > 0 || chunkedCoding(req.TransferEncoding) || req.ContentLength <= 0:
		// A ContentLength of 0 with a Body means unknown, as in net/http.
		return bodyPlan{mode: bodyChunked}
	default:
		return bodyPlan{mode: bodyFixed, n: req.ContentLength}
	}
}

func chunkedCoding(te []string) bool {
	for _, v := range te {
		if strings.EqualFold(v, "chunked") {
			return true
		}
	}
	return false
}

// requestBody is the request body across attempts: the source, and the
// bytes of a small body kept for a retry when nothing was sent.
type requestBody struct {
	src       io.ReadCloser
	replay    []byte
	used      bool // src was read from
	handedOff bool // a body writer goroutine owns src and closes it
}

func (rb *requestBody) replayable() bool {
	return !rb.handedOff && (!rb.used || rb.replay != nil)
}

func (rb *requestBody) close() {
	if rb.src != nil && !rb.handedOff {
		_ = rb.src.Close()
		rb.src = nil
	}
}

// reader returns what to read the body from in this attempt.
func (rb *requestBody) reader() io.Reader {
	if rb.replay != nil {
		return bytes.NewReader(rb.replay)
	}
	rb.used = true
	return rb.src
}

// excludedHeader reports whether k is a header the client writes itself
// from the request's fields rather than from Header.
func excludedHeader(k string) bool {
	switch len(k) {
	case 4:
		return strings.EqualFold(k, "Host")
	case 7:
		return strings.EqualFold(k, "Trailer")
	case 14:
		return strings.EqualFold(k, "Content-Length")
	case 17:
		return strings.EqualFold(k, "Transfer-Encoding")
	}
	return false
}

// writeHead writes the request head into the connection's buffer. The
// request has been validated by checkRequest.
func (c *conn) writeHead(req *http.Request, plan bodyPlan) {
	bw := c.bw
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	writeString(bw, method)
	writeByte(bw, ' ')
	writeTarget(bw, req)
	writeString(bw, " HTTP/1.1\r\nHost: ")
	writeString(bw, hostHeader(req))
	writeString(bw, "\r\n")
	for k, vv := range req.Header {
		if excludedHeader(k) {
			continue
		}
		for _, v := range vv {
			writeString(bw, k)
			writeString(bw, ": ")
			writeString(bw, v)
			writeString(bw, "\r\n")
		}
	}
	if req.Close && !httpguts.HeaderValuesContainsToken(req.Header["Connection"], "close") {
		writeString(bw, "Connection: close\r\n")
	}
	switch plan.mode {
	case bodyNone:
		switch method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			writeString(bw, "Content-Length: 0\r\n")
		}
	case bodyFixed:
		writeString(bw, "Content-Length: ")
		writeBytes(bw, strconv.AppendInt(bw.AvailableBuffer(), plan.n, 10))
		writeString(bw, "\r\n")
	case bodyChunked:
		writeString(bw, "Transfer-Encoding: chunked\r\n")
		if len(req.Trailer) > 0 {
			writeString(bw, "Trailer: ")
			first := true
			for k := range req.Trailer {
				if !first {
					writeString(bw, ", ")
				}
				first = false
				writeString(bw, http.CanonicalHeaderKey(k))
			}
			writeString(bw, "\r\n")
		}
	}
	writeString(bw, "\r\n")
}

// The write helpers ignore errors: a bufio.Writer's error is sticky and
// the Flush that ends every write path reports it.
func writeString(bw *bufio.Writer, s string) { _, _ = bw.WriteString(s) }
func writeByte(bw *bufio.Writer, c byte)     { _ = bw.WriteByte(c) }
func writeBytes(bw *bufio.Writer, b []byte)  { _, _ = bw.Write(b) }

// writeTarget writes the origin-form request target: the escaped path
// (RawPath when it is a valid encoding of Path) and the raw query.
func writeTarget(bw *bufio.Writer, req *http.Request) {
	u := req.URL
	if u.Opaque != "" {
		writeString(bw, u.RequestURI())
		return
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	writeString(bw, p)
	if u.ForceQuery || u.RawQuery != "" {
		writeByte(bw, '?')
		writeString(bw, u.RawQuery)
	}
}

// fillFixed reads a body of exactly n bytes, n < bw.Available(), into the
// write buffer after the head, so that head and body go out in one write.
// It returns the body bytes (inside the buffer) and whether an error came
// from the source rather than a length mismatch.
func (c *conn) fillFixed(rb *requestBody, n int64) ([]byte, error) {
	buf := c.bw.AvailableBuffer()[:n+1]
	if rb.replay != nil {
		copy(buf, rb.replay)
	} else {
		rb.used = true
		k, err := io.ReadFull(rb.src, buf[:n])
		switch {
		case err == io.ErrUnexpectedEOF || (err == io.EOF && n > 0): //nolint:errorlint // io.ReadFull returns them bare
			return nil, fmt.Errorf("%w: ContentLength=%d, body has %d bytes", ErrBodyLength, n, k)
		case err != nil:
			return nil, fmt.Errorf("reading request body: %w", err)
		}
		if err := expectEOF(rb.src, buf[n:n+1]); err != nil {
			return nil, err
		}
		rb.close()
	}
	body := buf[:n]
	writeBytes(c.bw, body)
	return body, nil
}

// expectEOF checks that src has nothing left, reading into the one-byte
// probe.
func expectEOF(src io.Reader, probe []byte) error {
	for range 100 {
		k, err := src.Read(probe)
		if k > 0 {
			return fmt.Errorf("%w: body is longer than ContentLength", ErrBodyLength)
		}
		if err == io.EOF { //nolint:errorlint // io.Reader contract
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading request body: %w", err)
		}
	}
	return fmt.Errorf("reading request body: %w", io.ErrNoProgress)
}

// streamBody writes the body on the body writer goroutine: the caller is
// reading the response meanwhile. It ends with writerDone.
func (c *conn) streamBody(src io.Reader, closer io.Closer, plan bodyPlan, trailer http.Header) {
	var err error
	srcErr := false
	if plan.mode == bodyFixed {
		err, srcErr = c.copyFixed(src, plan.n)
	} else {
		err, srcErr = c.copyChunked(src, trailer)
	}
	if err == nil {
		err = c.bw.Flush()
	}
	if closer != nil {
		_ = closer.Close()
	}
	c.writerDone(err, srcErr)
}

// streamBufSize is the size of the pooled buffer a body writer reads into:
// larger than the write buffer, so bulk uploads take fewer writes.
const streamBufSize = 32 << 10

// streamPool holds *[]byte of streamBufSize for body writers.
var streamPool = sync.Pool{New: func() any { b := make([]byte, streamBufSize); return &b }}

// copyFixed copies exactly n bytes from src to the connection. The head was
// flushed already, so each read is written straight through: a trickling
// source is forwarded as it comes, a bulk one in large writes.
func (c *conn) copyFixed(src io.Reader, n int64) (err error, srcErr bool) { //nolint:revive // two results read best in this order
	bp := streamPool.Get().(*[]byte)
	defer streamPool.Put(bp)
	buf := *bp
	for n > 0 {
		k, rerr := src.Read(buf[:min(int64(len(buf)), n)])
		if k > 0 {
			if _, err := c.Write(buf[:k]); err != nil {
				return err, false
			}
			n -= int64(k)
		}
		switch {
		case rerr == io.EOF && n > 0: //nolint:errorlint // io.Reader contract
			return fmt.Errorf("%w: body is %d bytes short of ContentLength", ErrBodyLength, n), true
		case rerr != nil && rerr != io.EOF: //nolint:errorlint // io.Reader contract
			return fmt.Errorf("reading request body: %w", rerr), true
		}
	}
	if err := expectEOF(src, buf[:1]); err != nil {
		return err, true
	}
	return nil, false
}

// chunkReserve is the room kept before chunk data for its size line
// ("<hex>\r\n").
const chunkReserve = 18

// copyChunked copies src to the connection with chunked coding, then the
// last chunk and the trailers. Each read becomes one chunk and one write:
// data is read after room for the size line, with room for the CRLF after.
func (c *conn) copyChunked(src io.Reader, trailer http.Header) (err error, srcErr bool) { //nolint:revive // as copyFixed
	bp := streamPool.Get().(*[]byte)
	defer streamPool.Put(bp)
	buf := *bp
	for {
		k, rerr := src.Read(buf[chunkReserve : len(buf)-2])
		if k > 0 {
			size := strconv.AppendUint(buf[:0], uint64(k), 16)
			line := chunkReserve - len(size) - 2
			copy(buf[line:], size)
			buf[chunkReserve-2], buf[chunkReserve-1] = '\r', '\n'
			end := chunkReserve + k
			buf[end], buf[end+1] = '\r', '\n'
			if _, err := c.Write(buf[line : end+2]); err != nil {
				return err, false
			}
		}
		if rerr == io.EOF { //nolint:errorlint // io.Reader contract
			break
		}
		if rerr != nil {
			return fmt.Errorf("reading request body: %w", rerr), true
		}
	}
	bw := c.bw
	writeString(bw, "0\r\n")
	for k, vv := range trailer {
		for _, v := range vv {
			if !validValue(v) {
				return fmt.Errorf("%w: bad value for trailer %s", ErrInvalidRequest, k), true
			}
			writeString(bw, http.CanonicalHeaderKey(k))
			writeString(bw, ": ")
			writeString(bw, v)
			writeString(bw, "\r\n")
		}
	}
	writeString(bw, "\r\n")
	return nil, false
}
