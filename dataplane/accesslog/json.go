package accesslog

import "strconv"

// appendJSON appends the "json" format: one object with fixed keys, in a
// fixed order. Strings are escaped by appendJSONString, so the object is
// valid JSON whatever the request carried.
func (f *Format) appendJSON(dst []byte, e *entry) []byte {
	r, rec := e.r, e.rec
	dst = append(dst, `{"time":"`...)
	dst = e.now.UTC().AppendFormat(dst, timeLayout)
	dst = append(dst, `","host":`...)
	dst = appendJSONString(dst, r.Host)
	dst = append(dst, `,"method":`...)
	dst = appendJSONString(dst, r.Method)
	dst = append(dst, `,"path":`...)
	dst = appendJSONString(dst, requestPath(r))
	dst = append(dst, `,"query":`...)
	dst = appendJSONString(dst, requestQuery(r))
	dst = append(dst, `,"proto":`...)
	dst = appendJSONString(dst, r.Proto)
	dst = append(dst, `,"status":`...)
	dst = strconv.AppendInt(dst, int64(rec.Status), 10)
	dst = append(dst, `,"bytes_in":`...)
	dst = strconv.AppendInt(dst, rec.BytesIn, 10)
	dst = append(dst, `,"bytes_out":`...)
	dst = strconv.AppendInt(dst, rec.BytesOut, 10)
	dst = append(dst, `,"latency_ms":`...)
	dst = appendMillis(dst, e.latency)
	dst = append(dst, `,"client_ip":"`...)
	dst = appendAddr(dst, f.clientIP(r), "") // an address needs no escaping
	dst = append(dst, `","remote_addr":`...)
	dst = appendJSONString(dst, peerIP(r.RemoteAddr))
	dst = append(dst, `,"request_id":`...)
	dst = appendJSONString(dst, rec.RequestID)
	dst = append(dst, `,"trace_id":`...)
	dst = appendJSONString(dst, rec.TraceID)
	dst = append(dst, `,"upstream":`...)
	dst = appendJSONString(dst, rec.Upstream)
	dst = append(dst, `,"upstream_addr":`...)
	dst = appendJSONString(dst, rec.UpstreamAddr)
	dst = append(dst, `,"upstream_ms":`...)
	if rec.UpstreamAddr == "" {
		dst = append(dst, "null"...)
	} else {
		dst = appendMillis(dst, rec.UpstreamTime)
	}
	dst = append(dst, `,"attempts":`...)
	dst = strconv.AppendInt(dst, int64(rec.Attempts), 10)
	dst = append(dst, `,"server":`...)
	dst = appendJSONString(dst, rec.Server)
	dst = append(dst, `,"location":`...)
	dst = appendJSONString(dst, rec.Location.Name())
	dst = append(dst, `,"referer":`...)
	dst = appendJSONString(dst, headerValue(r.Header, "Referer"))
	dst = append(dst, `,"user_agent":`...)
	dst = appendJSONString(dst, headerValue(r.Header, "User-Agent"))
	return append(dst, '}')
}
