package h1client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"syscall"
	"time"
)

// writerGrace is how long a response that arrives while the request body
// is still being sent waits for the upload to finish before it stops it.
const writerGrace = 50 * time.Millisecond

// roundTrip writes req on the connection and reads the response head. On
// error the connection is closed.
func (c *conn) roundTrip(req *http.Request, rb *requestBody) (*http.Response, error) {
	c.written = 0
	c.watch(req.Context())
	plan := planBody(req)
	c.writeHead(req, plan)
	var filled []byte
	streaming := false
	switch {
	case plan.mode == bodyFixed && plan.n < int64(c.bw.Available()):
		var err error
		if filled, err = c.fillFixed(rb, plan.n); err != nil {
			return nil, c.badBody(err)
		}
	case plan.mode != bodyNone:
		streaming = true
	}
	if err := c.bw.Flush(); err != nil {
		if c.written == 0 && filled != nil {
			rb.replay = bytes.Clone(filled)
		}
		return nil, c.fail(req, OpWrite, err)
	}
	if streaming {
		_ = c.nc.SetReadDeadline(time.Time{})
		c.startWriter()
		rb.handedOff = true
		go c.streamBody(rb.reader(), rb.src, plan, req.Trailer)
	} else {
		_ = c.nc.SetReadDeadline(time.Now().Add(c.rht))
	}

	resp, fr, err := c.readResponse(req)
	if err != nil {
		if streaming {
			c.abortWriter()
			if err := c.bodyFailure(); err != nil {
				return nil, err
			}
		}
		return nil, c.fail(req, OpReadHeader, err)
	}
	reusable := !fr.close && !req.Close
	if streaming {
		if !c.waitWriter(writerGrace) {
			c.abortWriter()
		}
		// The body did not match what the caller declared (or failed to
		// read): report that, even if the target answered.
		if err := c.bodyFailure(); err != nil {
			return nil, err
		}
		if c.writeFailed() {
			reusable = false
		}
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		c.upgrade(resp)
		return resp, nil
	}
	if fr.mode == bodyNone {
		resp.Body = http.NoBody
		c.done(reusable)
		return resp, nil
	}
	if fr.mode != bodyFixed || fr.length > int64(c.br.Buffered()) {
		_ = c.nc.SetReadDeadline(time.Time{})
	}
	resp.Body = &body{c: c, nc: c.nc, resp: resp, mode: fr.mode, n: fr.length, keepAlive: reusable}
	return resp, nil
}

// readResponse reads response heads until a final one (or a 101).
func (c *conn) readResponse(req *http.Request) (*http.Response, framing, error) {
	for i := 0; ; i++ {
		block, fromBuf, err := readHeadBlock(c.br)
		if err != nil {
			if i == 0 && (err == io.EOF || errors.Is(err, syscall.ECONNRESET)) { //nolint:errorlint // bufio returns io.EOF bare
				err = errServerClosedIdle
			} else if err == io.EOF { //nolint:errorlint // as above
				err = io.ErrUnexpectedEOF
			}
			return nil, framing{}, err
		}
		resp, fr, err := parseHead(block, req.Method)
		if fromBuf {
			_, _ = c.br.Discard(len(block))
		}
		if err != nil {
			return nil, framing{}, err
		}
		if code := resp.StatusCode; code < 200 && code != http.StatusSwitchingProtocols {
			if i >= max1xx {
				return nil, framing{}, malformed("too many 1xx responses")
			}
			continue
		}
		resp.Request = req
		resp.TLS = c.tls
		return resp, fr, nil
	}
}

// fail closes the connection after a failed write or read and describes the
// error; a cancelled context is reported as such.
func (c *conn) fail(req *http.Request, op string, err error) error {
	// Once the head is flushed the request is sent; c.written is only
	// read on the synchronous write path, when no body writer runs.
	sent := op != OpWrite || c.written > 0
	if !c.unwatch() {
		err = context.Cause(req.Context())
	}
	addr := c.pool.addr
	c.close()
	return &Error{Op: op, Addr: addr, Err: err, Sent: sent}
}

// bodyFailure returns the error of a request body that the body writer
// could not read as declared, closing the connection, or nil when the body
// writer has not failed on the body (it may have failed on the connection).
func (c *conn) bodyFailure() error {
	c.wmu.Lock()
	err, fromBody := c.werr, c.wsrc
	c.wmu.Unlock()
	if !fromBody {
		return nil
	}
	c.close()
	return &Error{Op: OpRequest, Addr: c.pool.addr, Err: err, Sent: true}
}

// badBody handles a request body that could not be buffered: the
// connection is reused if nothing was written yet.
func (c *conn) badBody(err error) error {
	sent := c.written > 0
	addr := c.pool.addr
	if sent {
		c.close()
	} else {
		c.bw.Reset(c)
		c.done(true)
	}
	return &Error{Op: OpRequest, Addr: addr, Err: err, Sent: sent}
}

// upgrade turns the connection into the Body of a 101 response. It is not
// pooled and no longer watched by the request context.
func (c *conn) upgrade(resp *http.Response) {
	c.unwatch()
	_ = c.nc.SetDeadline(time.Time{})
	resp.Body = &upgradeBody{br: c.br, nc: c.nc}
	c.br = nil
	c.detach()
}
