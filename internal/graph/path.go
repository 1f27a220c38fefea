package graph

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidID is wrapped by the error for a request path that cannot be
// sent safely: a segment (an id, mostly) that is empty, a dot segment,
// badly escaped, or holds a character no id may hold, or a query that
// does not parse. Nothing is sent for it: Result.Attempts is 0.
var ErrInvalidID = errors.New("invalid id")

// maxPathShow bounds how much of a refused path an error repeats.
const maxPathShow = 200

// checkPath splits target, an escaped path below the API root with an
// optional "?" and query, into its path and query, refusing what cannot
// be sent safely. It is graph's second line of defence behind the
// callers' id checks (package resource): a path must start with "/";
// every segment must be non-empty, not "." or "..", unescape, and its
// unescaped text must be valid UTF-8 without '/', '\\', '?', '#', '%',
// whitespace or control characters; the query must parse and hold only
// printable ASCII other than '#'. The error wraps ErrInvalidID.
func checkPath(target string) (path, query string, err error) {
	path, query, _ = strings.Cut(target, "?")
	if !strings.HasPrefix(path, "/") {
		return "", "", invalidPath(path, "does not start with /")
	}
	for i, seg := range strings.Split(path[1:], "/") {
		if why := checkSegment(seg); why != "" {
			return "", "", invalidPath(path, fmt.Sprintf("segment %d %s", i+1, why))
		}
	}
	if why := checkQuery(query); why != "" {
		return "", "", invalidPath(path, "has a query that "+why)
	}
	return path, query, nil
}

// checkSegment says why seg, one escaped path segment, cannot be sent,
// or "".
func checkSegment(seg string) string {
	id, err := url.PathUnescape(seg)
	switch {
	case seg == "":
		return "is empty"
	case err != nil:
		return "has a % not followed by two hex digits"
	case id == "." || id == "..":
		return "is a dot segment"
	case !utf8.ValidString(id):
		return "is not valid UTF-8"
	}
	for _, r := range id {
		switch {
		case strings.ContainsRune(`/\?#%`, r):
			return fmt.Sprintf("contains %q", r)
		case unicode.IsSpace(r):
			return "contains whitespace"
		case unicode.IsControl(r):
			return "contains a control character"
		}
	}
	return ""
}

// checkQuery says why q, a raw query without its "?", cannot be sent, or
// "". A query holding '#', a space or a control character would change
// meaning on its way into a URL, so it is refused even where ParseQuery
// would accept it.
func checkQuery(q string) string {
	for i := 0; i < len(q); i++ {
		if c := q[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return fmt.Sprintf("contains %q", c)
		}
	}
	if _, err := url.ParseQuery(q); err != nil {
		return "does not parse"
	}
	return ""
}

func invalidPath(path, why string) error {
	if len(path) > maxPathShow {
		path = path[:maxPathShow] + "…"
	}
	return fmt.Errorf("graph: path %q %s: %w", path, why, ErrInvalidID)
}

// writeMethod returns the method of a Write: PATCH when empty. Only the
// methods of a write are accepted; a GET sent as a write would be paced
// and counted as one.
func writeMethod(m string) (string, error) {
	switch m {
	case "":
		return http.MethodPatch, nil
	case http.MethodPatch, http.MethodPost, http.MethodPut, http.MethodDelete:
		return m, nil
	}
	return "", fmt.Errorf("graph: write method %q: want PATCH, POST, PUT or DELETE", m)
}
