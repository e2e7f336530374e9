package h1server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
)

const (
	// maxDrain is how much of a request body the server reads and discards
	// after the handler returns to keep the connection; more → close.
	maxDrain = 256 << 10
	// maxChunkLine caps one chunk-size line, extensions included.
	maxChunkLine = 1024
	// maxChunkExt caps the chunk-extension bytes of one body.
	maxChunkExt = 16 << 10
	// maxTrailerBytes caps the trailer section of a chunked body.
	maxTrailerBytes = 64 << 10
)

// body is a request body framed by Content-Length or chunked encoding, read
// from the connection's buffered reader.
type body struct {
	c         *conn
	req       *http.Request
	remaining int64 // bytes left: of the body (Content-Length) or of the current chunk
	chunked   bool
	needCRLF  bool // chunked: a chunk's data ended, its CRLF is unread
	sawEOF    bool
	closed    bool // Close was called by the handler
	done      bool // the handler returned
	extBytes  int
	err       error
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedBody}, args...)...)
}

// Read implements io.Reader. The first Read of a request that expects
// 100-continue sends "100 Continue".
func (b *body) Read(p []byte) (int, error) {
	switch {
	case b.done:
		return 0, http.ErrBodyReadAfterClose
	case b.c.hijacked:
		return 0, http.ErrHijacked
	case b.closed:
		return 0, http.ErrBodyReadAfterClose
	}
	if len(p) == 0 {
		return 0, nil
	}
	return b.read(p, len(p))
}

// Close implements io.Closer: further Reads fail; the server discards the
// rest of the body itself after the handler returns.
func (b *body) Close() error {
	b.closed = true
	return nil
}

// read reads up to n bytes into p, or discards them when p is nil.
func (b *body) read(p []byte, n int) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.sawEOF {
		return 0, io.EOF
	}
	if b.c.resp.continuePending.Load() {
		b.c.resp.sendContinue()
	}
	if b.chunked && b.remaining == 0 {
		if err := b.nextChunk(); err != nil {
			return 0, err
		}
		if b.sawEOF {
			return 0, io.EOF
		}
	}
	n = int(min(int64(n), b.remaining))
	var err error
	if p != nil {
		n, err = b.c.br.Read(p[:n])
	} else {
		if buffered := b.c.br.Buffered(); buffered > 0 {
			n = min(n, buffered)
		} else {
			n = min(n, b.c.br.Size())
		}
		n, err = b.c.br.Discard(n)
	}
	b.remaining -= int64(n)
	if err != nil && b.remaining > 0 {
		return n, b.fail(err)
	}
	if !b.chunked && b.remaining == 0 {
		b.sawEOF = true
		return n, io.EOF
	}
	return n, nil
}

// fail records a sticky read error; the connection will close.
func (b *body) fail(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	if errors.Is(err, ErrMalformedBody) {
		b.c.bodyMalformed.Store(true)
	}
	b.c.bodyBroken.Store(true)
	b.err = err
	return err
}

// nextChunk reads up to the next chunk's data, or through the trailer after
// the last chunk (setting sawEOF).
func (b *body) nextChunk() error {
	br := b.c.br
	if b.needCRLF {
		crlf, err := br.Peek(2)
		if err != nil {
			return b.fail(err)
		}
		if crlf[0] != '\r' || crlf[1] != '\n' {
			return b.fail(malformed("missing CRLF after chunk data"))
		}
		_, _ = br.Discard(2)
		b.needCRLF = false
	}
	size, err := b.readChunkSize()
	if err != nil {
		return b.fail(err)
	}
	if size == 0 {
		if err := b.readTrailer(); err != nil {
			return b.fail(err)
		}
		b.sawEOF = true
		return nil
	}
	b.remaining = size
	b.needCRLF = true
	return nil
}

// readLine reads one CRLF-terminated line (without the CRLF) of at most
// limit bytes. The slice is valid until the next read.
func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, malformed("line too long")
		}
		return nil, err
	}
	if len(line) > limit {
		return nil, malformed("line too long")
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, malformed("line not terminated by CRLF")
	}
	return line[:len(line)-2], nil
}

func unhex(c byte) int64 {
	switch {
	case '0' <= c && c <= '9':
		return int64(c - '0')
	case 'a' <= c && c <= 'f':
		return int64(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int64(c-'A') + 10
	}
	return -1
}

// readChunkSize parses "1*HEXDIG [ BWS ; chunk-ext ] CRLF".
func (b *body) readChunkSize() (int64, error) {
	line, err := readLine(b.c.br, maxChunkLine)
	if err != nil {
		return 0, err
	}
	var n int64
	i := 0
	for ; i < len(line); i++ {
		d := unhex(line[i])
		if d < 0 {
			break
		}
		if n > math.MaxInt64>>4 {
			return 0, malformed("chunk size overflows")
		}
		n = n<<4 | d
	}
	if i == 0 {
		return 0, malformed("invalid chunk size %q", line)
	}
	ext := line[i:]
	for len(ext) > 0 && (ext[0] == ' ' || ext[0] == '\t') {
		ext = ext[1:]
	}
	if len(ext) > 0 {
		if ext[0] != ';' || !validValue(string(ext)) {
			return 0, malformed("invalid chunk size line %q", line)
		}
		if b.extBytes += len(ext); b.extBytes > maxChunkExt {
			return 0, malformed("chunk extensions too long")
		}
	}
	return n, nil
}

// readTrailer reads the trailer section after the last chunk and merges its
// fields into Request.Trailer.
func (b *body) readTrailer() error {
	total, count := 0, 0
	limit := min(maxTrailerBytes, b.c.srv.cfg.MaxHeaderBytes)
	for {
		line, err := readLine(b.c.br, limit)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		if total += len(line) + 2; total > limit {
			return malformed("trailer too large")
		}
		if count++; count > b.c.srv.cfg.MaxHeaderCount {
			return malformed("too many trailer fields")
		}
		k, v, bad := parseField(string(line))
		if bad != "" {
			return malformed("invalid trailer field %s", bad)
		}
		switch k {
		case "Content-Length", "Transfer-Encoding", "Host", "Trailer":
			continue
		}
		if b.req.Trailer == nil {
			b.req.Trailer = make(http.Header)
		}
		b.req.Trailer[k] = append(b.req.Trailer[k], v)
	}
}

// drain discards the rest of the body, up to limit bytes, and reports
// whether it ended cleanly.
func (b *body) drain(limit int64) bool {
	if !b.chunked && b.remaining > limit {
		return false
	}
	for total := int64(0); !b.sawEOF; {
		if b.err != nil || total > limit {
			return false
		}
		n, err := b.read(nil, b.c.br.Size())
		total += int64(n)
		if err != nil && !errors.Is(err, io.EOF) {
			return false
		}
	}
	return b.err == nil
}
