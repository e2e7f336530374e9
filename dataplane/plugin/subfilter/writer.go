package subfilter

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"

	"github.com/pingap-go/pingap/dataplane/plugin/internal/transform"
)

// filterWriter runs an eligible response body through the rules' stages.
type filterWriter struct {
	rw          http.ResponseWriter
	f           *filter
	head        bool
	wroteHeader bool
	stages      []*stage // nil: the body passes untouched
}

// Header implements http.ResponseWriter.
func (w *filterWriter) Header() http.Header { return w.rw.Header() }

// WriteHeader implements http.ResponseWriter.
func (w *filterWriter) WriteHeader(code int) {
	if w.wroteHeader || code < http.StatusOK {
		w.rw.WriteHeader(code)
		return
	}
	w.wroteHeader = true
	w.decide(code, nil)
	w.rw.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *filterWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.wroteHeader = true
		w.decide(http.StatusOK, p)
		w.rw.WriteHeader(http.StatusOK)
	}
	if w.stages == nil {
		return w.rw.Write(p)
	}
	if err := w.stages[0].write(p, false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// decide checks the response and sets up the stages.
func (w *filterWriter) decide(code int, first []byte) {
	if !transform.Changeable(code) {
		return
	}
	h := w.rw.Header()
	if transform.Encoding(h) != "" || !w.f.types.Match(transform.ContentType(h, first)) {
		return
	}
	transform.BodyChanged(h)
	if w.head {
		return
	}
	w.stages = make([]*stage, len(w.f.rules))
	var next io.Writer = w.rw
	for i := len(w.f.rules) - 1; i >= 0; i-- {
		w.stages[i] = &stage{rule: &w.f.rules[i], next: next}
		next = w.stages[i]
	}
}

// finish sends what the stages hold back, once the handler has returned.
func (w *filterWriter) finish() {
	for _, s := range w.stages {
		if s.write(nil, true) != nil {
			return
		}
	}
}

// Flush implements http.Flusher. What the stages hold back (a possible
// match's start) stays until more data or the end.
func (w *filterWriter) Flush() { _ = w.FlushError() }

// FlushError is what http.ResponseController.Flush calls.
func (w *filterWriter) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(w.rw).Flush()
}

// Hijack implements http.Hijacker.
func (w *filterWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.rw).Hijack()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *filterWriter) Unwrap() http.ResponseWriter { return w.rw }

// stage applies one rule to the stream and writes the result to next.
type stage struct {
	rule *rule
	next io.Writer
	buf  []byte // held back from the last write, then the new data
	out  []byte // the output of one write
	done bool   // a first-only rule has replaced its match
	// groups are the submatch positions of the last regex match.
	groups []int
}

// Write lets a stage be the next of another.
func (s *stage) Write(p []byte) (int, error) {
	if err := s.write(p, false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// write filters p after what was held back; final is the end of the body,
// when nothing is held back any more.
func (s *stage) write(p []byte, final bool) error {
	if s.done && len(s.buf) == 0 {
		if len(p) == 0 {
			return nil
		}
		_, err := s.next.Write(p)
		return err
	}
	s.buf = append(s.buf, p...)
	s.out = s.out[:0]
	r := s.rule
	pos := 0
	for !s.done {
		start, end, ok := s.find(s.buf[pos:])
		if !ok {
			break
		}
		start, end = pos+start, pos+end
		if !final && start+r.window > len(s.buf) {
			break // a longer match may still come: decide with more data
		}
		s.out = append(s.out, s.buf[pos:start]...)
		s.out = s.replacement(s.out, s.buf[pos:])
		pos = end
		s.done = !r.global
	}
	keep := 0
	if !final && !s.done {
		keep = min(len(s.buf)-pos, r.window-1)
	}
	s.out = append(s.out, s.buf[pos:len(s.buf)-keep]...)
	s.buf = s.buf[:copy(s.buf, s.buf[len(s.buf)-keep:])]
	if len(s.out) == 0 {
		return nil
	}
	_, err := s.next.Write(s.out)
	return err
}

// find locates the rule's leftmost match in b; for a regex rule with
// groups to expand, s.groups holds its submatch positions in b.
func (s *stage) find(b []byte) (start, end int, ok bool) {
	r := s.rule
	switch {
	case r.re == nil:
		i := bytes.Index(b, r.from)
		return i, i + len(r.from), i >= 0
	case r.expand:
		s.groups = r.re.FindSubmatchIndex(b)
		if s.groups == nil {
			return 0, 0, false
		}
		return s.groups[0], s.groups[1], true
	}
	loc := r.re.FindIndex(b)
	if loc == nil {
		return 0, 0, false
	}
	return loc[0], loc[1], true
}

// replacement appends the replacement of the match found in src (the
// slice find searched) to dst.
func (s *stage) replacement(dst, src []byte) []byte {
	if !s.rule.expand {
		return append(dst, s.rule.to...)
	}
	return s.rule.re.Expand(dst, s.rule.to, src, s.groups)
}
