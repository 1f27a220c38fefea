package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrForeignNextLink is wrapped by List's error when Graph's
// @odata.nextLink points at another scheme or host than Config.BaseURL:
// following it would hand the bearer token to that host.
var ErrForeignNextLink = errors.New("@odata.nextLink leaves the API host")

// List calls fn with every object of the collection at path, an escaped
// path below the API root that may end in "?" and a query. It follows
// @odata.nextLink until Graph sends none (pages may be empty), retrying
// each page like any read, and stops at the first error, returning fn's
// error unchanged. fn is called from List's goroutine, one object at a
// time; obj is only valid during the call. Once ctx is done no further
// page is requested; a page on the wire runs to its answer, as for Send.
func (c *Client) List(ctx context.Context, path string, fn func(obj json.RawMessage) error) error {
	p, q, err := checkPath(path)
	if err != nil {
		return err
	}
	next := c.url(p, q)
	seen := make(map[string]bool)
	for page := 1; next != ""; page++ {
		u, err := url.Parse(next)
		if err != nil {
			return fmt.Errorf("graph: list %s page %d: bad @odata.nextLink: %w", p, page, err)
		}
		if !c.sameOrigin(u) {
			return fmt.Errorf("graph: list %s page %d: refusing %s://%s: %w", p, page, u.Scheme, u.Host, ErrForeignNextLink)
		}
		if seen[next] {
			return fmt.Errorf("graph: list %s page %d: @odata.nextLink repeats an earlier page", p, page)
		}
		seen[next] = true
		r := readRequest(next, u.EscapedPath())
		c.run(ctx, []*request{r}, 1, c.sendAlone)
		res := r.res
		if res.Err != nil {
			return fmt.Errorf("graph: list %s page %d: %w", p, page, res.Err)
		}
		var pg struct {
			Value    *[]json.RawMessage `json:"value"`
			NextLink string             `json:"@odata.nextLink"`
		}
		if res.Body == nil || json.Unmarshal(res.Body, &pg) != nil || pg.Value == nil {
			return fmt.Errorf("graph: list %s page %d: answer %d is not a collection page (request-id %s)", p, page, res.Status, res.RequestID)
		}
		for _, obj := range *pg.Value {
			if err := fn(obj); err != nil {
				return err
			}
		}
		next = ""
		if pg.NextLink != "" {
			// The link is documented absolute; resolving a relative one
			// against the page keeps it on the same host.
			nu, err := u.Parse(pg.NextLink)
			if err != nil {
				return fmt.Errorf("graph: list %s page %d: bad @odata.nextLink: %w", p, page, err)
			}
			next = nu.String()
		}
	}
	return nil
}

// sameOrigin reports whether u has the base URL's scheme, host and port
// (default ports made explicit) and no user info.
func (c *Client) sameOrigin(u *url.URL) bool {
	b := c.baseURL
	return u.User == nil && strings.EqualFold(u.Scheme, b.Scheme) &&
		strings.EqualFold(u.Hostname(), b.Hostname()) && port(u) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}
