package accesslog

import (
	"strconv"
	"time"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// appendText appends a template value: "-" when empty (as nginx), and '"',
// '\\', control characters and bytes of invalid UTF-8 as \xHH (nginx's
// escaping, which keeps valid UTF-8), so that a value never ends a quoted
// field or the line.
func appendText(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, '-')
	}
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			if r, size := utf8.DecodeRuneInString(s[i:]); r != utf8.RuneError || size > 1 {
				i += size
				continue
			}
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		i++
		start = i
	}
	return append(dst, s[start:]...)
}

// appendJSONString appends s as a JSON string, escaped as encoding/json's
// Marshal escapes it: '"', '\\' and control characters, '<', '>' and '&'
// (HTML safety), U+2028 and U+2029, and invalid UTF-8 as U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendHumanSize appends a byte count in decimal units with one decimal
// at most: "512B", "1.5KB", "12MB", "3.2GB".
func appendHumanSize(dst []byte, n int64) []byte {
	const unit = 1000
	if n < unit {
		return append(strconv.AppendInt(dst, n, 10), 'B')
	}
	const units = "KMGTPE"
	div, i := int64(unit), 0
	for tenths(n, div) >= unit*10 && i < len(units)-1 {
		div *= unit
		i++
	}
	dst = appendTenths(dst, tenths(n, div))
	return append(dst, units[i], 'B')
}

// tenths is n/div in tenths, rounded; div is a multiple of 10.
func tenths(n, div int64) int64 { return (n + div/20) / (div / 10) }

// appendTenths appends a count of tenths as a decimal, without ".0".
func appendTenths(dst []byte, t int64) []byte {
	dst = strconv.AppendInt(dst, t/10, 10)
	if d := t % 10; d != 0 {
		dst = append(dst, '.', byte('0'+d))
	}
	return dst
}

// appendHumanDuration appends a latency: "850µs", "12ms", "1.5s".
func appendHumanDuration(dst []byte, d time.Duration) []byte {
	switch {
	case d < time.Millisecond:
		return append(strconv.AppendInt(dst, max(d.Microseconds(), 0), 10), "µs"...)
	case d < time.Second:
		return append(strconv.AppendInt(dst, d.Milliseconds(), 10), "ms"...)
	}
	return append(appendTenths(dst, tenths(d.Milliseconds(), 1000)), 's')
}

// appendMillis appends d in milliseconds with microseconds as decimals
// ("12.345", "0.5", "3"): a JSON number.
func appendMillis(dst []byte, d time.Duration) []byte {
	us := d.Microseconds()
	if us < 0 {
		us = 0
	}
	dst = strconv.AppendInt(dst, us/1000, 10)
	frac := us % 1000
	if frac == 0 {
		return dst
	}
	digits := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 3
	for digits[n-1] == '0' {
		n--
	}
	dst = append(dst, '.')
	return append(dst, digits[:n]...)
}
