package input

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// AmbiguousError reports a header that more than one resource fits, or
// none: the caller must say which with --resource. Check returns it
// inside a *FileError, which names the file: like any other header
// problem, it makes the input unusable, and nothing is sent.
type AmbiguousError struct {
	Path       string
	Candidates []string // the resources that fit; none when none does
}

func (e *AmbiguousError) Error() string {
	if len(e.Candidates) == 0 {
		var keys []string
		for _, r := range resource.All() {
			var req []string
			for i, k := range r.Keys {
				if r.Required(i) {
					req = append(req, k.Name)
				}
			}
			keys = append(keys, strings.Join(req, " and ")+" ("+r.Name+")")
		}
		return fmt.Sprintf("the header names the key columns of no resource bulkpatch writes; it needs %s, or name the resource with --resource",
			strings.Join(keys, ", or "))
	}
	return fmt.Sprintf("the header fits more than one resource (%s); name the one you mean with --resource",
		strings.Join(e.Candidates, ", "))
}

// countErrs counts the errors joined in err that are target.
func countErrs(err error, target error) int {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	n := 0
	for _, e := range errs {
		if errors.Is(e, target) {
			n++
		}
	}
	return n
}

func requiredKeys(r *resource.Resource) int {
	n := 0
	for i := range r.Keys {
		if r.Required(i) {
			n++
		}
	}
	return n
}

// infer picks the resource the header of s describes: the one whose
// columns the header fits exactly; else, among those of whose required
// key columns it has at least one, the only one that knows the most of
// its other columns (its header problems, a misspelt column, are then
// reported as usual: "id,managedDeviceName,ownerTyp" is a managedDevice
// with a typo, although "id" alone would fit every resource). Several
// candidates, or none, is an *AmbiguousError in a *FileError.
func (s *Source) infer() (*resource.Resource, error) {
	r, err := s.inferResource()
	if err != nil {
		return nil, &FileError{Path: s.Path, Err: err}
	}
	return r, nil
}

func (s *Source) inferResource() (*resource.Resource, error) {
	var fits, keyed []*resource.Resource
	fewest := -1 // the fewest unknown columns of a keyed resource so far
	for _, r := range resource.All() {
		p := s.file.pass()
		_, err := csvio.NewReader(bufio.NewReader(p.r), s.readerOptions(r))
		switch {
		case err == nil:
			fits = append(fits, r)
		case errors.Is(err, csvio.ErrEncoding) || errors.Is(err, csvio.ErrRecordTooLarge) || errors.Is(err, csvio.ErrTooManyColumns):
			return r, nil // the file's own problem, whatever it describes: Check reports it
		case countErrs(err, csvio.ErrMissingColumn) < requiredKeys(r):
			switch n := countErrs(err, csvio.ErrUnknownColumn); {
			case fewest < 0 || n < fewest:
				keyed, fewest = []*resource.Resource{r}, n
			case n == fewest:
				keyed = append(keyed, r)
			}
		}
	}
	switch {
	case len(fits) == 1:
		return fits[0], nil
	case len(fits) == 0 && len(keyed) == 1:
		return keyed[0], nil
	case len(fits) == 0 && len(keyed) == 0:
		return nil, &AmbiguousError{Path: s.Path}
	}
	cands := fits
	if len(cands) == 0 {
		cands = keyed
	}
	e := &AmbiguousError{Path: s.Path}
	for _, r := range cands {
		e.Candidates = append(e.Candidates, r.Name)
	}
	return nil, e
}
