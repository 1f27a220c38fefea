package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bulkpatch/bulkpatch/internal/safefile"
)

// ShowOp writes one operation as plan prints it: its line, the request
// that would be sent and the exact body.
func ShowOp(w io.Writer, op *Op, body []byte) {
	method, p, err := op.Res.WritePath(op.Key)
	if err != nil {
		p = "(" + err.Error() + ")"
	}
	fmt.Fprintf(w, "  line %d: %s %s\n      %s\n", op.Line, method, p, displayJSON(body))
}

// displayJSON returns JSON text for display: a control, format or
// bidirectional-text character inside a string (which JSON allows raw) is
// written as its \u escape, which means the same to a JSON reader and
// cannot disguise the text on a screen ("evil\u202etxt.exe").
func displayJSON(b []byte) string {
	var out strings.Builder
	for _, r := range string(b) {
		if r < 0x20 || r == 0x7f || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Cc, r) {
			fmt.Fprintf(&out, "\\u%04x", r)
			continue
		}
		out.WriteRune(r)
	}
	return out.String()
}

// ShowChanges writes a reconciled update: the object and each property
// that differs, old → new.
func ShowChanges(w io.Writer, op *Op, changes []Change) {
	p, _ := op.Res.ObjectPath(op.Key)
	fmt.Fprintf(w, "  ~ line %d: %s\n", op.Line, p)
	for _, c := range changes {
		fmt.Fprintf(w, "      %s: %s → %s\n", c.Property, shownValue(c.Old), shownValue(c.New))
	}
}

// shownValue renders a JSON value for a diff line, null for none, cut to
// 200 bytes at a rune boundary.
func shownValue(v json.RawMessage) string {
	if len(v) == 0 {
		return "null"
	}
	n := 200
	if len(v) <= n {
		return displayJSON(v)
	}
	for n > 0 && !utf8.RuneStart(v[n]) {
		n--
	}
	return displayJSON(v[:n]) + "…"
}

// File is a plan file being written: beside its final path, and renamed
// into place only when the plan is complete, so a failed or interrupted
// plan leaves nothing behind (and never a half plan someone could apply).
type File struct {
	path string
	f    *safefile.File
	fw   *FileWriter
}

// CreateFile starts a plan file that Commit will put at path (mode 0600:
// plans hold user names).
func CreateFile(path string) (*File, error) {
	f, err := safefile.Create(path)
	if err != nil {
		return nil, err
	}
	return &File{path: path, f: f}, nil
}

// Path returns the plan file's final path.
func (p *File) Path() string { return p.path }

// Start writes the header; it must come before the first Write.
func (p *File) Start(h Header) error {
	fw, err := NewFileWriter(p.f, h)
	p.fw = fw
	return err
}

// Write adds one entry.
func (p *File) Write(e Entry) error { return p.fw.Write(e) }

// Commit ends the plan and puts it in place.
func (p *File) Commit() error {
	if err := p.fw.Close(); err != nil {
		return err
	}
	return p.f.Commit()
}

// Abort removes the temporary file unless Commit renamed it.
func (p *File) Abort() { p.f.Abort() }
