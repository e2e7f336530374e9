package compression

import (
	"fmt"
	"io"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Coding names, as in Accept-Encoding and Content-Encoding.
const (
	Gzip   = "gzip"
	Brotli = "br"
	Zstd   = "zstd"
)

// Default levels, used when a level is unset.
const (
	DefaultGzipLevel   = 6
	DefaultBrotliLevel = 4
	DefaultZstdLevel   = 2
)

// zstdWindow caps the zstd window (and so each pooled encoder's history
// buffer). 8 MiB is the most HTTP clients must accept (RFC 8878 section
// 7.2); a smaller window costs little ratio on web responses and keeps an
// idle pooled encoder small.
const zstdWindow = 1 << 20

// brotliWindowBits is the brotli window, 512 KiB (nginx's brotli_window
// default). An encoder grows with the response up to what its window
// needs: at level 4, after an 8 MiB JSON body written in 32 KiB chunks, it
// held 4.5 MB with this window and 26 MB with the library's default of
// 4 MiB (both 0.8 MB after a 16 KiB body). A response smaller than the
// window compresses the same with either.
const brotliWindowBits = 19

// maxDecodeWindow caps the memory a zstd body from upstream may make the
// decoder allocate.
const maxDecodeWindow = 32 << 20

// encoder is what the three compressors have in common.
type encoder interface {
	io.WriteCloser
	Flush() error
	Reset(w io.Writer)
}

// sink is the writer a pooled encoder writes to; pointing it at a new
// response is cheaper than resetting the encoder twice, and clearing it
// keeps an idle encoder from holding a finished response.
type sink struct{ w io.Writer }

func (s *sink) Write(p []byte) (int, error) { return s.w.Write(p) }

// pooledEncoder is an encoder and the sink it writes to.
type pooledEncoder struct {
	encoder
	out sink
}

// codec is one enabled coding: its name and a pool of encoders at the
// instance's level. Pools belong to an instance because levels do.
type codec struct {
	name string
	pool sync.Pool
}

// newCodec returns the codec for name at level, after building one
// encoder to check the level.
func newCodec(name string, level int) (*codec, error) {
	var mk func(w io.Writer) (encoder, error)
	switch name {
	case Gzip:
		mk = func(w io.Writer) (encoder, error) { return gzip.NewWriterLevel(w, level) }
	case Brotli:
		mk = func(w io.Writer) (encoder, error) {
			return brotli.NewWriterOptions(w, brotli.WriterOptions{Quality: level, LGWin: brotliWindowBits}), nil
		}
	case Zstd:
		mk = func(w io.Writer) (encoder, error) {
			return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.EncoderLevel(level)),
				zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(zstdWindow), zstd.WithZeroFrames(true))
		}
	default:
		return nil, fmt.Errorf("unknown coding %q", name)
	}
	c := &codec{name: name}
	first := &pooledEncoder{}
	enc, err := mk(&first.out)
	if err != nil {
		return nil, fmt.Errorf("%s level %d: %w", name, level, err)
	}
	first.encoder = enc
	c.pool.New = func() any {
		pe := &pooledEncoder{}
		pe.encoder, _ = mk(&pe.out) // the level was checked above
		return pe
	}
	c.pool.Put(first)
	return c, nil
}

// get returns an encoder writing to w.
func (c *codec) get(w io.Writer) *pooledEncoder {
	pe := c.pool.Get().(*pooledEncoder)
	pe.out.w = w
	pe.Reset(&pe.out)
	return pe
}

// put returns pe to the pool. pe may be mid-stream: get resets it.
func (c *codec) put(pe *pooledEncoder) {
	pe.out.w = nil
	c.pool.Put(pe)
}

// decodable reports whether the plugin can decode coding.
func decodable(coding string) bool {
	return coding == Gzip || coding == Brotli || coding == Zstd
}

// newDecoder returns a reader of r's decoded bytes and the function that
// releases it.
func newDecoder(coding string, r io.Reader) (io.Reader, func(), error) {
	switch coding {
	case Gzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return zr, func() { _ = zr.Close() }, nil
	case Brotli:
		return brotli.NewReader(r), func() {}, nil
	case Zstd:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxDecodeWindow))
		if err != nil {
			return nil, nil, err
		}
		return zr, zr.Close, nil
	}
	return nil, nil, fmt.Errorf("unknown coding %q", coding)
}
