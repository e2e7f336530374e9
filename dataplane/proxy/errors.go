package proxy

import (
	"net/http"
	"strconv"
)

// Short bodies of the responses the proxy produces itself. They never carry
// upstream addresses or internal errors; details go to the log.
var statusBodies = map[int]string{
	http.StatusBadRequest:            "bad request\n",
	http.StatusNotFound:              "not found\n",
	http.StatusRequestEntityTooLarge: "request entity too large\n",
	http.StatusBadGateway:            "bad gateway\n",
	http.StatusServiceUnavailable:    "service unavailable\n",
	http.StatusGatewayTimeout:        "gateway timeout\n",
}

// writeError answers with a short plain-text body for status.
func writeError(w http.ResponseWriter, status int) {
	body, ok := statusBodies[status]
	if !ok {
		body = http.StatusText(status) + "\n"
	}
	h := w.Header()
	for k := range h {
		delete(h, k)
	}
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
