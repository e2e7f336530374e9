package h1client

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/pingap-go/pingap/config"
)

const (
	// maxHeadBytes caps a response head (status line and headers), and
	// separately the trailers of a chunked body.
	maxHeadBytes = 1 << 20
	// max1xx caps the informational responses skipped before a final one.
	max1xx = 8
)

// statusTable holds "200 OK"-style Status strings for the codes that have
// a standard text, so that a response with the standard reason does not
// allocate one. Read-only.
var statusTable = func() (t [600]string) {
	for code := 100; code < len(t); code++ {
		if text := http.StatusText(code); text != "" {
			t[code] = strconv.Itoa(code) + " " + text
		}
	}
	return t
}()

// framing is how a response body is delimited and whether the connection
// survives it.
type framing struct {
	mode   int   // bodyNone, bodyFixed, bodyChunked, or bodyUntilClose
	length int64 // bodyFixed
	close  bool  // the connection cannot be reused after this response
}

// bodyUntilClose is a response body delimited by the end of the connection.
const bodyUntilClose = bodyChunked + 1

// readHeadBlock returns the response head, from the status line through
// the empty line. When the head fits in br's buffer (the common case) it is
// returned in place, fromBuf true, and must be discarded by the caller after
// parsing; else it is read line by line into a new slice. It returns io.EOF
// only when the connection ended before any byte.
func readHeadBlock(br *bufio.Reader) (block []byte, fromBuf bool, err error) {
	scanned := 0
	for {
		buf, _ := br.Peek(br.Buffered())
		if end := headEnd(buf, &scanned); end > 0 {
			return buf[:end], true, nil
		}
		if br.Buffered() >= br.Size() {
			block, err := readHeadSlow(br)
			return block, false, err
		}
		if _, err := br.Peek(br.Buffered() + 1); err != nil {
			if err == io.EOF && br.Buffered() > 0 { //nolint:errorlint // bufio returns it bare
				err = io.ErrUnexpectedEOF
			}
			return nil, false, err
		}
	}
}

// headEnd returns the length of the head in b, through its empty line, or
// -1 if b does not hold it all yet. *from is where to resume scanning.
func headEnd(b []byte, from *int) int {
	i := *from
	for {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			*from = len(b)
			return -1
		}
		i += j
		rest := b[i+1:]
		switch {
		case len(rest) == 0 || (len(rest) == 1 && rest[0] == '\r'):
			*from = i
			return -1
		case rest[0] == '\n':
			return i + 2
		case rest[0] == '\r' && rest[1] == '\n':
			return i + 3
		}
		i++
	}
}

// readHeadSlow reads a head larger than the read buffer, line by line.
func readHeadSlow(br *bufio.Reader) ([]byte, error) {
	var acc []byte
	lineStart := 0
	for {
		frag, err := br.ReadSlice('\n')
		acc = append(acc, frag...)
		if len(acc) > maxHeadBytes {
			return nil, ErrHeaderTooLarge
		}
		switch {
		case err == bufio.ErrBufferFull: //nolint:errorlint // bufio returns it bare
			continue
		case err == io.EOF: //nolint:errorlint // bufio returns it bare
			return nil, io.ErrUnexpectedEOF
		case err != nil:
			return nil, err
		}
		line := acc[lineStart:]
		if lineStart > 0 && (len(line) == 1 || (len(line) == 2 && line[0] == '\r')) {
			return acc, nil
		}
		lineStart = len(acc)
	}
}

// field is where one header line's name and value are in the head.
type field struct{ k0, k1, v0, v1 int32 }

// nextLine returns the line of b starting at i without its line ending,
// and the start of the next one.
func nextLine(b []byte, i int) (line []byte, next int) {
	j := bytes.IndexByte(b[i:], '\n')
	if j < 0 {
		return b[i:], len(b)
	}
	line = b[i : i+j]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, i + j + 1
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedResponse}, args...)...)
}

// parseHead parses a response head in b, which it may modify (header names
// are canonicalized in place). method is the request method, which decides
// whether the response has a body.
func parseHead(b []byte, method string) (*http.Response, framing, error) {
	line, i := nextLine(b, 0)
	resp := &http.Response{}
	reason, err := parseStatusLine(line, resp)
	if err != nil {
		return nil, framing{}, err
	}
	var stack [32]field
	fields := stack[:0]
	for {
		start := i
		line, i = nextLine(b, i)
		if len(line) == 0 {
			break
		}
		f, err := parseField(line, int32(start))
		if err != nil {
			return nil, framing{}, err
		}
		fields = append(fields, f)
	}
	// One string holds the whole head; names, values and the status are
	// slices of it.
	s := string(b)
	if resp.Status == "" {
		resp.Status = s[reason[0]:reason[1]]
	}
	h := make(http.Header, len(fields))
	values := make([]string, len(fields))
	for n, f := range fields {
		k := s[f.k0:f.k1]
		values[n] = s[f.v0:f.v1]
		if old, ok := h[k]; ok {
			h[k] = append(old, values[n])
		} else {
			h[k] = values[n : n+1 : n+1]
		}
	}
	resp.Header = h
	fr, err := frame(resp, method)
	return resp, fr, err
}

// parseStatusLine fills the status fields of resp from "HTTP/1.x NNN
// reason". It returns the offsets of "NNN reason" in the line when Status
// is not a standard one from statusTable.
func parseStatusLine(line []byte, resp *http.Response) ([2]int, error) {
	var st [2]int
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[7] < '0' || line[7] > '9' || line[8] != ' ' {
		return st, malformed("bad status line %q", truncate(line))
	}
	resp.ProtoMajor, resp.ProtoMinor = 1, int(line[7]-'0')
	switch resp.ProtoMinor {
	case 1:
		resp.Proto = "HTTP/1.1"
	case 0:
		resp.Proto = "HTTP/1.0"
	default:
		resp.Proto = string(line[:8])
	}
	i := 9
	for i < len(line) && line[i] == ' ' {
		i++
	}
	code := 0
	for j := i; j < i+3; j++ {
		if j >= len(line) || line[j] < '0' || line[j] > '9' {
			return st, malformed("bad status code in %q", truncate(line))
		}
		code = code*10 + int(line[j]-'0')
	}
	if code < 100 || (len(line) > i+3 && line[i+3] != ' ') {
		return st, malformed("bad status code in %q", truncate(line))
	}
	for _, c := range line[i+3:] {
		if !validValueByte(c) {
			return st, malformed("bad reason phrase in %q", truncate(line))
		}
	}
	resp.StatusCode = code
	reason := line[min(i+4, len(line)):]
	if code < len(statusTable) {
		if std := statusTable[code]; std != "" && string(reason) == std[4:] {
			resp.Status = std
		}
	}
	st[0], st[1] = i, len(line)
	return st, nil
}

// parseField validates one header line, canonicalizes its name in place and
// returns where name and value are; off is the line's offset in the head.
func parseField(line []byte, off int32) (field, error) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		if line[0] == ' ' || line[0] == '\t' {
			// A gateway may reject obs-fold (RFC 9112, 5.2); net/http's
			// server would not forward it either.
			return field{}, malformed("obsolete line folding")
		}
		return field{}, malformed("bad header line %q", truncate(line))
	}
	name := line[:colon]
	upper := true
	for j, c := range name {
		if !config.IsTokenChar(c) {
			return field{}, malformed("bad header name %q", truncate(name))
		}
		switch {
		case upper && 'a' <= c && c <= 'z':
			name[j] = c - ('a' - 'A')
		case !upper && 'A' <= c && c <= 'Z':
			name[j] = c + ('a' - 'A')
		}
		upper = c == '-'
	}
	v0, v1 := colon+1, len(line)
	for v0 < v1 && (line[v0] == ' ' || line[v0] == '\t') {
		v0++
	}
	for v1 > v0 && (line[v1-1] == ' ' || line[v1-1] == '\t') {
		v1--
	}
	for _, c := range line[v0:v1] {
		if !validValueByte(c) {
			return field{}, malformed("bad value for header %s", name)
		}
	}
	return field{off, off + int32(colon), off + int32(v0), off + int32(v1)}, nil
}

func truncate(b []byte) string {
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}

// frame decides how the body of resp is delimited (RFC 9112, 6.3), sets
// ContentLength, TransferEncoding, Close and the declared Trailer keys, and
// removes the framing headers that net/http also removes.
func frame(resp *http.Response, method string) (framing, error) {
	h := resp.Header
	var fr framing
	conn := h["Connection"]
	if resp.ProtoMinor == 0 {
		fr.close = !httpguts.HeaderValuesContainsToken(conn, "keep-alive")
	} else {
		fr.close = httpguts.HeaderValuesContainsToken(conn, "close")
	}
	chunked := false
	if te, ok := h["Transfer-Encoding"]; ok {
		if resp.ProtoMinor == 0 {
			return fr, malformed("Transfer-Encoding in an HTTP/1.0 response")
		}
		if len(te) != 1 || !strings.EqualFold(te[0], "chunked") {
			return fr, malformed("unsupported Transfer-Encoding %q", te)
		}
		delete(h, "Transfer-Encoding")
		if _, ok := h["Content-Length"]; ok {
			// Both: the coding wins, and the connection is not trusted
			// after such a message (RFC 9112, 6.3).
			delete(h, "Content-Length")
			fr.close = true
		}
		chunked = true
	}
	if chunked {
		// As in net/http: the Trailer header becomes resp.Trailer's keys
		// with chunked coding, and stays a plain header otherwise.
		if err := declareTrailers(resp); err != nil {
			return fr, err
		}
	}
	length := int64(-1)
	if cl := h["Content-Length"]; len(cl) > 0 {
		for _, v := range cl[1:] {
			if v != cl[0] {
				return fr, malformed("conflicting Content-Length %q", cl)
			}
		}
		n, err := parseLength(cl[0])
		if err != nil {
			return fr, err
		}
		length = n
		if len(cl) > 1 {
			h["Content-Length"] = cl[:1]
		}
	}
	code := resp.StatusCode
	switch {
	case method == http.MethodHead:
		resp.ContentLength = length
		fr.mode = bodyNone
	case code < 200 || code == http.StatusNoContent || code == http.StatusNotModified:
		resp.ContentLength = 0
		fr.mode = bodyNone
	case chunked:
		resp.ContentLength = -1
		resp.TransferEncoding = []string{"chunked"}
		fr.mode = bodyChunked
	case length >= 0:
		resp.ContentLength = length
		fr.mode, fr.length = bodyFixed, length
		if length == 0 {
			fr.mode = bodyNone
		}
	default:
		resp.ContentLength = -1
		fr.mode = bodyUntilClose
		fr.close = true
	}
	resp.Close = fr.close
	return fr, nil
}

// parseLength parses a Content-Length: decimal digits only.
func parseLength(s string) (int64, error) {
	if s == "" || len(s) > 18 {
		return 0, malformed("bad Content-Length %q", s)
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, malformed("bad Content-Length %q", s)
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// declareTrailers moves the "Trailer" header into resp.Trailer keys, whose
// values are filled when the body has been read.
func declareTrailers(resp *http.Response) error {
	vv, ok := resp.Header["Trailer"]
	if !ok {
		return nil
	}
	delete(resp.Header, "Trailer")
	for _, v := range vv {
		for v != "" {
			var k string
			k, v, _ = strings.Cut(v, ",")
			k = strings.Trim(k, " \t")
			if k == "" {
				continue
			}
			k = http.CanonicalHeaderKey(k)
			switch k {
			case "Transfer-Encoding", "Trailer", "Content-Length":
				return malformed("bad trailer key %q", k)
			}
			if resp.Trailer == nil {
				resp.Trailer = make(http.Header)
			}
			resp.Trailer[k] = nil
		}
	}
	return nil
}
