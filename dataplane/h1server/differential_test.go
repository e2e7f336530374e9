package h1server

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// diffHandler answers according to query parameters, describing the
// request it saw in its body, so that two servers can be compared.
var diffHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	body, err := io.ReadAll(r.Body)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		if strings.HasPrefix(k, "X-") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var desc strings.Builder
	fmt.Fprintf(&desc, "%s %s path=%q raw=%q query=%q host=%q cl=%d te=%v close=%v body=%q err=%v trailer=%v\n",
		r.Method, r.Proto, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.Host, r.ContentLength,
		r.TransferEncoding, r.Close, body, err, r.Trailer)
	for _, k := range keys {
		fmt.Fprintf(&desc, "%s=%q\n", k, r.Header[k])
	}
	if q.Has("trailer") {
		w.Header().Set("Trailer", "X-T")
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Echo", r.Header.Get("X-Rand"))
	status, _ := strconv.Atoi(q.Get("status"))
	if status == 0 {
		status = 200
	}
	size, _ := strconv.Atoi(q.Get("size"))
	if q.Has("cl") {
		w.Header().Set("Content-Length", strconv.Itoa(desc.Len()+size))
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, desc.String())
	if q.Has("flush") {
		w.(http.Flusher).Flush()
	}
	_, _ = w.Write(bytes.Repeat([]byte("z"), size))
	if q.Has("trailer") {
		w.Header().Set("X-T", "tv")
	}
})

type diffResult struct {
	status  int
	chunked bool
	cl      int64
	headers string
	trailer string
	body    string
}

func doDiff(client *http.Client, base string, spec diffSpec) (diffResult, error) {
	var body io.Reader
	switch spec.bodyKind {
	case 1:
		body = strings.NewReader(spec.body)
	case 2:
		body = io.MultiReader(strings.NewReader(spec.body)) // unknown length: chunked
	}
	req, err := http.NewRequest(spec.method, base+spec.target, body)
	if err != nil {
		return diffResult{}, err
	}
	for k, v := range spec.headers {
		req.Header.Set(k, v)
	}
	if spec.bodyKind == 2 && spec.trailer {
		req.Trailer = http.Header{"X-Req-Trailer": {"rt"}}
	}
	req.Close = spec.close
	res, err := client.Do(req)
	if err != nil {
		return diffResult{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return diffResult{}, err
	}
	return diffResult{
		status:  res.StatusCode,
		chunked: len(res.TransferEncoding) > 0,
		cl:      res.ContentLength,
		headers: fmt.Sprint(res.Header.Get("Content-Type"), "|", res.Header.Get("X-Echo"), "|", res.Header.Get("Trailer")),
		trailer: fmt.Sprint(res.Trailer),
		body:    string(b),
	}, nil
}

type diffSpec struct {
	method, target, body string
	bodyKind             int // 0 none, 1 sized, 2 streamed (chunked)
	trailer, close       bool
	headers              map[string]string
}

func genSpec(rng *rand.Rand) diffSpec {
	methods := []string{"GET", "GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH"}
	paths := []string{"/", "/a/b", "/a%2Fb", "/%E2%82%AC", "/x;y=1", "/with+plus", "//double", "/a/../b", "/~user/!$&'()*"}
	s := diffSpec{method: methods[rng.IntN(len(methods))], headers: map[string]string{}}
	q := url.Values{}
	if rng.IntN(3) == 0 {
		q.Set("status", []string{"201", "204", "304", "404", "500", "299"}[rng.IntN(6)])
	}
	q.Set("size", strconv.Itoa([]int{0, 13, 1000, 1500, 5000, 100000}[rng.IntN(6)]))
	for _, k := range []string{"flush", "trailer", "cl"} {
		if rng.IntN(4) == 0 {
			q.Set(k, "1")
		}
	}
	s.target = paths[rng.IntN(len(paths))] + "?" + q.Encode()
	if rng.IntN(2) == 0 {
		s.headers["X-Rand"] = strconv.Itoa(rng.IntN(1000))
	}
	if rng.IntN(3) == 0 {
		s.headers["x-lower-case"] = "v " + strconv.Itoa(rng.IntN(10))
	}
	if s.method != "GET" && s.method != "HEAD" && rng.IntN(2) == 0 {
		s.bodyKind = 1 + rng.IntN(2)
		s.body = strings.Repeat("b", rng.IntN(20000))
		s.trailer = rng.IntN(2) == 0
	}
	s.close = rng.IntN(8) == 0
	return s
}

func TestDifferentialAgainstNetHTTP(t *testing.T) {
	t.Parallel()
	_, ours := startServer(t, Config{Handler: diffHandler})
	std := startStd(t, diffHandler)
	newClient := func() *http.Client {
		tr := &http.Transport{MaxIdleConnsPerHost: 2, ExpectContinueTimeout: time.Second}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	oc, sc := newClient(), newClient()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		spec := genSpec(rng)
		got, err := doDiff(oc, "http://"+ours, spec)
		if err != nil {
			t.Fatalf("%d %+v: h1server: %v", i, spec, err)
		}
		want, err := doDiff(sc, "http://"+std, spec)
		if err != nil {
			t.Fatalf("%d %+v: net/http: %v", i, spec, err)
		}
		// The host differs by port; the framing may differ where net/http
		// chunks (over 2 KiB) and we still know the length (up to 4 KiB).
		got.body = strings.ReplaceAll(got.body, ours, "HOST")
		want.body = strings.ReplaceAll(want.body, std, "HOST")
		if want.chunked && !got.chunked && got.cl > 2048 && got.cl <= 4096 {
			want.chunked, want.cl = false, got.cl
		}
		if got != want {
			t.Errorf("%d %s %s (body %d/%d, close %v):\n h1server %+v\n net/http %+v", i, spec.method, spec.target,
				spec.bodyKind, len(spec.body), spec.close, trim(got), trim(want))
		}
	}
}

func trim(r diffResult) diffResult {
	if len(r.body) > 300 {
		r.body = r.body[:300] + "..."
	}
	return r
}
