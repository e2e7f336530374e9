// Package uarestriction is the "ua_restriction" plugin: it allows or
// denies requests by their User-Agent, matched against regular expressions.
package uarestriction

import (
	"fmt"
	"net/http"
	"regexp"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "ua_restriction"

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// New compiles the expressions once.
func New(ctx plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	c := cfg.GetUaRestriction()
	if len(c.GetUaList()) == 0 {
		return nil, fmt.Errorf("ua_list: required")
	}
	res := make([]*regexp.Regexp, 0, len(c.GetUaList()))
	for i, s := range c.GetUaList() {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("ua_list[%d]: %w", i, err)
		}
		res = append(res, re)
	}
	deny, err := config.ParseAccessType(c.GetType(), "deny")
	if err != nil {
		return nil, fmt.Errorf("type: %w", err)
	}
	body := c.GetMessage()
	if body == "" {
		body = "forbidden"
	}
	refused := ctx.Count("refused")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ua := r.Header.Get("User-Agent")
			matched := false
			for _, re := range res {
				if re.MatchString(ua) {
					matched = true
					break
				}
			}
			if matched == deny {
				refused()
				plugin.Forbidden(w, body)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}
