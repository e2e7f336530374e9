package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/pingap-go/pingap/config"
)

// maxResponse caps the size of an admin API answer read into memory.
const maxResponse = 256 << 20

// Client calls the admin API (/api/v1) of a control plane; any replica
// serves any call. It is safe for concurrent use.
type Client struct {
	base      *url.URL // scheme://host[:port][/prefix], without /api/v1
	token     string
	hc        *http.Client
	userAgent string
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithToken sends token as `Authorization: Bearer TOKEN`. Default: no
// Authorization header.
func WithToken(token string) ClientOption { return func(c *Client) { c.token = token } }

// WithHTTPClient makes the client use hc (for TLS settings and timeouts).
// Default: an http.Client with no timeout; bound calls with their context.
func WithHTTPClient(hc *http.Client) ClientOption { return func(c *Client) { c.hc = hc } }

// WithUserAgent sets the User-Agent header. Default: "pingapctl".
func WithUserAgent(ua string) ClientOption { return func(c *Client) { c.userAgent = ua } }

// NewClient returns a client of the admin API at server, a URL such as
// "https://cp.example.com:9180" or a bare "host:port" (plain HTTP).
func NewClient(server string, opts ...ClientOption) (*Client, error) {
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	u, err := url.Parse(server)
	if err != nil {
		return nil, fmt.Errorf("ctl: server %q: %w", server, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("ctl: server %q: want an http:// or https:// URL", server)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("ctl: server %q: no host", server)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	c := &Client{base: u, hc: &http.Client{}, userAgent: "pingapctl"}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Server is the base URL the client talks to.
func (c *Client) Server() string { return c.base.String() }

// APIError is an error answer of the admin API.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is the API's stable error code: bad_request, unauthorized,
	// forbidden, not_found, invalid_config, conflict, body_too_large,
	// internal (or the status text when the body was not the API's JSON).
	Code string
	// Message says what went wrong.
	Message string
	// Errors are the validation errors of an invalid_config answer.
	Errors config.ErrorList
	// CurrentVersion is the cluster's current version, when the API told
	// it (conflicts); 0 otherwise.
	CurrentVersion uint64
}

func (e *APIError) Error() string {
	return fmt.Sprintf("ctl: admin API: %d %s: %s", e.Status, e.Code, e.Message)
}

// apiErrorBody is the JSON of an error answer.
type apiErrorBody struct {
	Code           string           `json:"code"`
	Message        string           `json:"message"`
	Errors         config.ErrorList `json:"errors"`
	CurrentVersion uint64           `json:"current_version"`
}

// newAPIError builds the error of a non-2xx answer.
func newAPIError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var b apiErrorBody
	if err := json.Unmarshal(body, &b); err != nil || b.Code == "" {
		e.Code = strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_")
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 300 {
			e.Message = e.Message[:300] + "..."
		}
		if e.Message == "" {
			e.Message = http.StatusText(status)
		}
		return e
	}
	e.Code, e.Message, e.CurrentVersion, e.Errors = b.Code, b.Message, b.CurrentVersion, b.Errors
	return e
}

// IsCode reports whether err is an APIError with code.
func IsCode(err error, code string) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == code
}

// request describes one call.
type request struct {
	method, path string
	query        url.Values
	body         []byte
	contentType  string
}

// response is a successful answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends req and returns the answer; a non-2xx answer is an *APIError.
func (c *Client) do(ctx context.Context, req request) (*response, error) {
	u := *c.base
	u.Path += "/api/v1" + req.path
	if len(req.query) > 0 {
		u.RawQuery = req.query.Encode()
	}
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("ctl: %w", err)
	}
	if req.contentType != "" {
		hr.Header.Set("Content-Type", req.contentType)
	}
	if c.token != "" {
		hr.Header.Set("Authorization", "Bearer "+c.token)
	}
	hr.Header.Set("User-Agent", c.userAgent)
	resp, err := c.hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("ctl: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("ctl: reading the answer to %s %s: %w", req.method, req.path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, newAPIError(resp.StatusCode, data)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// getJSON sends GET path?query and decodes the JSON answer into v.
func (c *Client) getJSON(ctx context.Context, path string, query url.Values, v any) error {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path, query: query})
	if err != nil {
		return err
	}
	return decodeJSON(resp.body, v)
}

func decodeJSON(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("ctl: unexpected answer from the admin API: %w", err)
	}
	return nil
}

// unmarshalProto decodes a protojson object of the API into m; an absent
// or null object leaves m empty.
func unmarshalProto(raw json.RawMessage, m proto.Message) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, m); err != nil {
		return fmt.Errorf("ctl: unexpected %s from the admin API: %w", m.ProtoReflect().Descriptor().Name(), err)
	}
	return nil
}

// clusterPath is the API path of cluster plus rest.
func clusterPath(cluster, rest string) string {
	return "/clusters/" + url.PathEscape(cluster) + rest
}
