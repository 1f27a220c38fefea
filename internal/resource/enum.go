package resource

import "strings"

// Enumeration is a Graph enumeration. Graph compares members case-sensitively;
// bulkpatch accepts input in any case and sends Graph's spelling. Some
// enums keep growing: code that reads values must tolerate members it
// does not know; only writes are checked against Members.
type Enumeration struct {
	Name    string   // Graph's type name, e.g. "resultantAppState"
	Members []string // in schema order

	// folded maps each member, lower-cased and as spelled, to its exact
	// spelling, so the common, already-correct cell is found without
	// lower-casing (which allocates). Built by newEnum, then only read.
	folded map[string]string
}

func newEnum(name string, members ...string) *Enumeration {
	e := &Enumeration{Name: name, Members: members, folded: make(map[string]string, 2*len(members))}
	for _, m := range members {
		e.folded[strings.ToLower(m)] = m
		e.folded[m] = m
	}
	return e
}

// Canonical returns the member that equals s ignoring case, in Graph's
// exact spelling, and whether there is one.
func (e *Enumeration) Canonical(s string) (string, bool) {
	if v, ok := e.folded[s]; ok {
		return v, true
	}
	v, ok := e.folded[strings.ToLower(s)]
	return v, ok
}

// IsMember reports whether s is exactly (case-sensitively) a member, as
// Graph checks it.
func (e *Enumeration) IsMember(s string) bool {
	v, ok := e.folded[s]
	return ok && v == s
}

// Closest returns the candidate nearest to s by edit distance, ignoring
// case, when it is near enough to be a plausible typo; otherwise "".
func Closest(s string, candidates []string) string {
	ls := strings.ToLower(s)
	best, bestD := "", -1
	for _, c := range candidates {
		d := Distance(ls, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	// Accept up to a third of the longer string's length in edits.
	limit := max(len(ls), len(best))/3 + 1
	if bestD < 0 || bestD > limit {
		return ""
	}
	return best
}

// Distance is the Levenshtein distance between a and b, over bytes.
// Strings over 256 bytes are not compared (hostile lengths are not worth
// the quadratic work): the result is then the longer length.
func Distance(a, b string) int {
	if len(a) > 256 || len(b) > 256 {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
