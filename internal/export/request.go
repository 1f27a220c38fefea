package export

import (
	"fmt"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// Request is what to export, as a user names it on the command line.
type Request struct {
	Resource        string // a resource name; "" is mobileAppInstallStatus
	App, UserStatus string // the collection's ids (mobileAppInstallStatus)
	All             bool   // also every collection nested under it
	Delimiter       string // ",", ";" or "tab" (csvio.ParseDelimiter)
	Excel           bool   // a UTF-8 BOM and CRLF line ends
}

// Target is a checked Request: what Write exports, and how the CSV is
// written.
type Target struct {
	Res     *resource.Resource
	Coll    resource.Key
	Dialect csvio.WriterOptions
}

// Resolve checks r and returns what it names. Every error is the user's
// mistake, naming the flag it came from; nothing has been sent.
func (r Request) Resolve() (Target, error) {
	var t Target
	res, err := resource.Find(r.Resource)
	switch {
	case err != nil:
		return t, fmt.Errorf("--resource %w", err)
	case res == nil:
		res = resource.MobileAppInstallStatus
	}
	if res == resource.MobileAppInstallStatus && r.App == "" {
		return t, fmt.Errorf("--app is required: it names the app whose statuses to export")
	}
	coll, err := Collection(res, r.App, r.UserStatus)
	if err != nil {
		return t, err
	}
	if r.All && len(Nested(res, coll)) == 0 {
		return t, fmt.Errorf("--all: no collection of %s nests under the one exported; leave --all out", res.Name)
	}
	comma, err := csvio.ParseDelimiter(r.Delimiter)
	if err != nil {
		return t, fmt.Errorf("--delimiter %w", err)
	}
	t = Target{Res: res, Coll: coll, Dialect: csvio.WriterOptions{Comma: comma}}
	if r.Excel {
		t.Dialect = csvio.ExcelOptions(max(comma, ','))
	}
	return t, nil
}
