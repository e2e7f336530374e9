// Command backend is the origin server of the side-by-side proxy benchmark
// (scripts/bench/run.sh): a minimal HTTP/1.1 keep-alive server that answers
// GET and HEAD on a few fixed paths with preallocated responses.
//
//	/13    13-byte body "Hello, World!"
//	/4k    4096-byte body
//	/100k  102400-byte body
//
// Every response has a fixed Content-Length. The server reads requests with
// its own small parser instead of net/http so that the origin costs as little
// CPU as possible: it shares a core with the load generator, and the proxies
// are what is being measured. It understands what the proxies send (request
// line, headers, Content-Length and chunked bodies, which it discards,
// pipelining, Connection: close) and answers anything else with 400 and a
// closed connection.
//
// Usage: backend -addr 127.0.0.1:18080
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

// response is one preassembled answer: the head alone (for HEAD) and the head
// followed by the body (for GET), in one buffer so that each is one write.
type response struct {
	head []byte
	full []byte
}

func newResponse(status string, body []byte, extra string) response {
	head := fmt.Sprintf("HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n",
		status, len(body), extra)
	full := make([]byte, 0, len(head)+len(body))
	full = append(full, head...)
	full = append(full, body...)
	return response{head: full[:len(head)], full: full}
}

// body returns n bytes of printable, checkable content: "Hello, World!" for
// 13 bytes, otherwise the lowercase alphabet repeated.
func body(n int) []byte {
	if n == 13 {
		return []byte("Hello, World!")
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

var (
	routes = map[string]response{
		"/13":   newResponse("200 OK", body(13), ""),
		"/4k":   newResponse("200 OK", body(4096), ""),
		"/100k": newResponse("200 OK", body(102400), ""),
	}
	notFound   = newResponse("404 Not Found", []byte("not found\n"), "")
	badRequest = newResponse("400 Bad Request", []byte("bad request\n"), "Connection: close\r\n")
	notAllowed = newResponse("405 Method Not Allowed", []byte("method not allowed\n"), "Allow: GET, HEAD\r\n")
)

const maxHeaderBytes = 64 << 10

var errBadRequest = errors.New("bad request")

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "listen address (host:port)")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("backend: %v", err)
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		_ = ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			log.Printf("backend: accept: %v", err)
			continue
		}
		go serve(c)
	}
}

// serve answers requests on one connection until the client closes it, asks
// to close it, or sends something this server does not understand.
func serve(c net.Conn) {
	defer func() { _ = c.Close() }()
	r := bufio.NewReaderSize(c, 16<<10)
	w := bufio.NewWriterSize(c, 16<<10)
	for {
		resp, keepAlive, err := handle(r)
		if err != nil {
			if errors.Is(err, errBadRequest) {
				_, _ = w.Write(badRequest.full)
				_ = w.Flush()
			}
			return
		}
		if _, err := w.Write(resp); err != nil {
			return
		}
		// Flush unless the next pipelined request is already buffered.
		if r.Buffered() == 0 || !keepAlive {
			if err := w.Flush(); err != nil {
				return
			}
		}
		if !keepAlive {
			return
		}
	}
}

// handle reads one request and returns the bytes to answer it with and
// whether the connection stays open.
func handle(r *bufio.Reader) (resp []byte, keepAlive bool, err error) {
	line, err := readLine(r)
	if err != nil {
		return nil, false, err
	}
	// METHOD SP TARGET SP VERSION
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1 {
		return nil, false, errBadRequest
	}
	method, target, version := line[:sp1], line[sp1+1:sp2], line[sp2+1:]
	switch string(version) {
	case "HTTP/1.1":
		keepAlive = true
	case "HTTP/1.0":
		keepAlive = false
	default:
		return nil, false, errBadRequest
	}
	if q := bytes.IndexByte(target, '?'); q >= 0 {
		target = target[:q]
	}
	// The target must be kept before the next read: line points into r's buffer.
	route, found := routes[string(target)]
	head := string(method) == "HEAD"
	get := string(method) == "GET"

	contentLength := int64(0)
	chunked := false
	total := len(line)
	for {
		h, err := readLine(r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, false, err
		}
		total += len(h)
		if total > maxHeaderBytes {
			return nil, false, errBadRequest
		}
		if len(h) == 0 {
			break
		}
		colon := bytes.IndexByte(h, ':')
		if colon <= 0 {
			return nil, false, errBadRequest
		}
		name, value := h[:colon], bytes.TrimSpace(h[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 {
				return nil, false, errBadRequest
			}
			contentLength = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			if !bytes.EqualFold(value, []byte("chunked")) {
				return nil, false, errBadRequest
			}
			chunked = true
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				keepAlive = false
			} else if bytes.EqualFold(value, []byte("keep-alive")) {
				keepAlive = true
			}
		}
	}
	switch {
	case chunked:
		if err := discardChunked(r); err != nil {
			return nil, false, err
		}
	case contentLength > 0:
		if _, err := r.Discard(int(contentLength)); err != nil {
			return nil, false, err
		}
	}

	switch {
	case !get && !head:
		return notAllowed.full, keepAlive, nil
	case !found:
		route = notFound
	}
	// A preassembled response does not say "Connection: close" when the
	// connection is about to close; the Content-Length still delimits it.
	if head {
		return route.head, keepAlive, nil
	}
	return route.full, keepAlive, nil
}

// readLine returns one line without its CRLF (or LF). The slice is valid until
// the next read from r.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errBadRequest
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// discardChunked reads and drops a chunked request body and its trailers.
func discardChunked(r *bufio.Reader) error {
	for {
		line, err := readLine(r)
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || size < 0 {
			return errBadRequest
		}
		if size == 0 {
			break
		}
		if _, err := r.Discard(int(size)); err != nil {
			return err
		}
		if crlf, err := readLine(r); err != nil || len(crlf) != 0 {
			return errBadRequest
		}
	}
	for { // trailers, up to the empty line
		line, err := readLine(r)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
	}
}
