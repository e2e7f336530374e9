package h1client

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

const (
	// maxDrain is how much of an unread response body Close reads to keep
	// the connection.
	maxDrain = 256 << 10
	// drainTimeout bounds the wait for that data.
	drainTimeout = 100 * time.Millisecond
)

// body is a response body read from a pooled connection. At a clean EOF
// the connection goes back to the pool (if the response allows keep-alive);
// on an error it is closed. Close may be called from another goroutine
// while a Read is blocked: the connection is then closed to unblock it.
type body struct {
	mu        sync.Mutex
	c         *conn    // nil once the connection is released
	nc        net.Conn // c.nc, readable without mu
	resp      *http.Response
	mode      int   // bodyFixed, bodyChunked or bodyUntilClose
	n         int64 // bytes left: of the body (fixed) or of the chunk (chunked)
	crlf      bool  // chunked: a CRLF ends the chunk just read
	keepAlive bool
	err       error // sticky: io.EOF after the end
	closed    bool
}

var _ io.ReadCloser = (*body)(nil)

// Read implements io.Reader.
func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return 0, ErrBodyClosed
	case b.err != nil:
		return 0, b.err
	case len(p) == 0:
		return 0, nil
	}
	var n int
	var err error
	switch b.mode {
	case bodyFixed:
		n, err = b.readFixed(p)
	case bodyChunked:
		n, err = b.readChunked(p)
	default:
		n, err = b.c.br.Read(p)
	}
	if err != nil {
		err = b.finish(err)
	}
	return n, err
}

func (b *body) readFixed(p []byte) (int, error) {
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.c.br.Read(p)
	b.n -= int64(n)
	if b.n == 0 {
		return n, io.EOF
	}
	if err == io.EOF { //nolint:errorlint // bufio returns it bare
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *body) readChunked(p []byte) (int, error) {
	if b.n == 0 {
		if err := b.nextChunk(); err != nil {
			return 0, err
		}
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.c.br.Read(p)
	b.n -= int64(n)
	if b.n == 0 {
		b.crlf = true
	}
	if err == io.EOF { //nolint:errorlint // bufio returns it bare
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// nextChunk reads up to the next chunk's data; after the last chunk it
// reads the trailers and returns io.EOF.
func (b *body) nextChunk() error {
	br := b.c.br
	if b.crlf {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		if len(line) != 0 {
			return malformed("missing CRLF after chunk data")
		}
		b.crlf = false
	}
	line, err := readLine(br)
	if err != nil {
		return err
	}
	size, err := parseChunkSize(line)
	if err != nil {
		return err
	}
	if size == 0 {
		if err := b.readTrailers(); err != nil {
			return err
		}
		return io.EOF
	}
	b.n = size
	return nil
}

// readLine reads a line of a chunked body without its line ending; it must
// fit in the read buffer and end in CRLF: a bare LF in chunked framing is a
// smuggling vector between parsers that disagree, and net/http rejects it.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull: //nolint:errorlint // bufio returns it bare
		return nil, malformed("chunk line too long")
	case err == io.EOF: //nolint:errorlint // bufio returns it bare
		return nil, io.ErrUnexpectedEOF
	case err != nil:
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	} else {
		return nil, malformed("chunk line ends with bare LF")
	}
	return line, nil
}

// parseChunkSize parses "<hex>[ext]" (RFC 9112, 7.1).
func parseChunkSize(line []byte) (int64, error) {
	var n int64
	i := 0
	for ; i < len(line); i++ {
		c := line[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			goto rest
		}
		if i >= 15 {
			return 0, malformed("chunk size too large")
		}
		n = n<<4 | int64(d)
	}
rest:
	if i == 0 {
		return 0, malformed("bad chunk size %q", truncate(line))
	}
	for j := i; j < len(line); j++ {
		c := line[j]
		if c == ';' {
			break
		}
		if c != ' ' && c != '\t' {
			return 0, malformed("bad chunk size %q", truncate(line))
		}
	}
	for _, c := range line[i:] {
		if !validValueByte(c) {
			return 0, malformed("bad chunk extension")
		}
	}
	return n, nil
}

// readTrailers reads the trailer section after the last chunk into
// resp.Trailer.
func (b *body) readTrailers() error {
	total := 0
	for {
		line, err := readLine(b.c.br)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		if total += len(line); total > maxHeadBytes {
			return ErrHeaderTooLarge
		}
		f, err := parseField(line, 0)
		if err != nil {
			return err
		}
		if b.resp.Trailer == nil {
			b.resp.Trailer = make(http.Header)
		}
		k := string(line[f.k0:f.k1])
		b.resp.Trailer[k] = append(b.resp.Trailer[k], string(line[f.v0:f.v1]))
	}
}

// finish ends the body on its first error: io.EOF releases the
// connection to the pool, anything else closes it. It returns the error to
// give the reader.
func (b *body) finish(err error) error {
	c := b.c
	b.c = nil
	if err == io.EOF { //nolint:errorlint // our own sentinel use
		b.err = io.EOF
		c.done(b.keepAlive)
		return io.EOF
	}
	cancelled := !c.unwatch()
	addr := c.pool.addr
	c.close()
	if cancelled {
		err = context.Cause(b.resp.Request.Context())
	}
	b.err = &Error{Op: OpReadBody, Addr: addr, Err: err, Sent: true}
	return b.err
}

// Close implements io.Closer. Before EOF it reads and discards up to 256 KiB
// of what is left, waiting at most 100ms, to keep the connection; otherwise
// the connection is closed.
func (b *body) Close() error {
	if !b.mu.TryLock() {
		// A Read holds the lock, maybe blocked on the network.
		_ = b.nc.Close()
		b.mu.Lock()
	}
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	c := b.c
	if c == nil {
		return nil
	}
	b.c = nil
	if b.keepAlive && b.drain(c) {
		c.done(true)
	} else {
		c.close()
	}
	return nil
}

// drain reads the rest of the body within the limits of Close.
func (b *body) drain(c *conn) bool {
	if b.mode == bodyFixed && b.n > maxDrain || b.mode == bodyUntilClose {
		return false
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(drainTimeout))
	b.c = c
	defer func() { b.c = nil }()
	budget := int64(maxDrain)
	for {
		if b.mode == bodyChunked && b.n == 0 {
			switch err := b.nextChunk(); {
			case err == io.EOF: //nolint:errorlint // our own sentinel
				return true
			case err != nil:
				return false
			}
		}
		if b.n > budget {
			return false
		}
		k, err := c.br.Discard(int(b.n))
		b.n -= int64(k)
		budget -= int64(k)
		if err != nil {
			return false
		}
		if b.mode == bodyFixed {
			return true
		}
		b.crlf = true
	}
}

// upgradeBody is the Body of a 101 response: the raw connection, after the
// bytes already buffered from it.
type upgradeBody struct {
	br *bufio.Reader
	nc net.Conn
}

var _ io.ReadWriteCloser = (*upgradeBody)(nil)

// Read implements io.Reader.
func (u *upgradeBody) Read(p []byte) (int, error) { return u.br.Read(p) }

// Write implements io.Writer.
func (u *upgradeBody) Write(p []byte) (int, error) { return u.nc.Write(p) }

// Close implements io.Closer: it closes the connection.
func (u *upgradeBody) Close() error { return u.nc.Close() }

// CloseWrite shuts down the writing side of the connection, when it can.
func (u *upgradeBody) CloseWrite() error {
	if cw, ok := u.nc.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
