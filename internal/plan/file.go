package plan

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// FormatVersion is the plan file format this package writes and reads.
const FormatVersion = 1

// The actions of a plan entry.
const (
	ActionPatch     = "patch"     // not reconciled: the body will be sent
	ActionUpdate    = "update"    // reconciled: the live object differs; Changes says how
	ActionUnchanged = "unchanged" // reconciled: the live object is already as asked
)

// Header describes a plan file: what input it was made from and how.
type Header struct {
	Format int `json:"format"` // FormatVersion; 0 means FormatVersion when writing
	// Resource names the resource the plan writes (resource.Lookup);
	// "" means resource.Default(), which is what plan files written
	// before there was a choice hold.
	Resource    string    `json:"resource,omitempty"`
	Tool        string    `json:"tool"` // e.g. "bulkpatch 1.2.0"
	CreatedAt   time.Time `json:"createdAt"`
	InputPath   string    `json:"inputPath"`
	InputSHA256 string    `json:"inputSha256"` // hex
	GraphRoot   string    `json:"graphRoot"`   // "" when not reconciled
	Reconcile   bool      `json:"reconcile"`
	// Columns are the property columns present in the input, in input
	// order, for the results file.
	Columns []string `json:"columns"`
}

// Entry is one operation of a plan: the object, what to send and, when
// reconciled, how the live object differs.
//
// In the file an entry is one flat JSON object with a field per key
// column, named like it, e.g. {"line":2,"mobileAppId":"a",
// "mobileAppInstallStatusId":"s","action":"patch","body":{...}}; an empty
// optional key is left out, an empty required one written as "".
type Entry struct {
	Line    int             // physical line of the input row
	Key     resource.Key    // indexed like the plan's resource's Keys
	Action  string          // ActionPatch, ActionUpdate or ActionUnchanged
	Body    json.RawMessage // the exact PATCH body (Op.AppendBody)
	Changes []Change        // reconciled updates only
}

// Summary counts a plan's entries per action. A plan file ends with it,
// which lets a reader tell a complete file from a truncated one.
type Summary struct {
	Operations int `json:"operations"`
	Patch      int `json:"patch"`
	Update     int `json:"update"`
	Unchanged  int `json:"unchanged"`
}

func (s *Summary) add(action string) bool {
	switch action {
	case ActionPatch:
		s.Patch++
	case ActionUpdate:
		s.Update++
	case ActionUnchanged:
		s.Unchanged++
	default:
		return false
	}
	s.Operations++
	return true
}

// ErrFormat reports a plan file written in a format this version does not
// read (made by a newer bulkpatch, or not a plan file at all).
var ErrFormat = errors.New("unsupported plan file format")

// ErrDamaged reports a plan file that is truncated, garbled or
// inconsistent. Such a file must not be applied.
var ErrDamaged = errors.New("damaged plan file")

// FileWriter writes a plan file as a stream: the header, then one entry
// per line, then the summary. Memory does not grow with the number of
// entries. It is not safe for concurrent use.
type FileWriter struct {
	codec  *entryCodec
	w      *bufio.Writer
	buf    bytes.Buffer
	enc    *json.Encoder
	sum    Summary
	err    error // sticky: the first write error, or errClosed
	closed bool
}

var errClosed = errors.New("plan file writer is closed")

// NewFileWriter starts a plan file on w with header h. h.Resource, when
// set, is written in the resource's own spelling; an unknown one fails
// with ErrFormat. Nothing reaches w for sure before Close, which flushes.
func NewFileWriter(w io.Writer, h Header) (*FileWriter, error) {
	if h.Format == 0 {
		h.Format = FormatVersion
	}
	if h.Format != FormatVersion {
		return nil, fmt.Errorf("%w: cannot write format %d", ErrFormat, h.Format)
	}
	res, err := headerResource(h.Resource)
	if err != nil {
		return nil, err
	}
	if h.Resource != "" {
		h.Resource = res.Name
	}
	if h.Columns == nil {
		h.Columns = []string{} // [] rather than null: the list is just empty
	}
	fw := &FileWriter{codec: newEntryCodec(res), w: bufio.NewWriter(w)}
	fw.enc = json.NewEncoder(&fw.buf)
	fw.enc.SetEscapeHTML(false) // keep <, > and & readable in user names
	if err := fw.enc.Encode(h); err != nil {
		return nil, fmt.Errorf("encoding the plan header: %w", err)
	}
	// The header is an object with at least "format": reopen it to add
	// the operations array after its fields.
	head := bytes.TrimRight(fw.buf.Bytes(), "\n")
	fw.write(head[:len(head)-1])
	fw.write([]byte(`,"operations":[`))
	if fw.err != nil {
		return nil, fw.err
	}
	return fw, nil
}

func (fw *FileWriter) write(b []byte) {
	if fw.err == nil {
		_, fw.err = fw.w.Write(b)
	}
}

// Write adds one entry, its key written by the names of the header's
// resource. It rejects an entry with an unknown action or a body that is
// not a JSON object, which the reader would refuse.
func (fw *FileWriter) Write(e Entry) error {
	if fw.err != nil {
		return fw.err
	}
	if e.Action != ActionPatch && e.Action != ActionUpdate && e.Action != ActionUnchanged {
		return fmt.Errorf("plan entry for line %d: unknown action %q", e.Line, e.Action)
	}
	if !isJSONObject(e.Body) {
		return fmt.Errorf("plan entry for line %d: the body is not a JSON object", e.Line)
	}
	fw.buf.Reset()
	if err := fw.enc.Encode(fw.codec.value(&e)); err != nil {
		return fmt.Errorf("plan entry for line %d: %w", e.Line, err)
	}
	if fw.sum.Operations > 0 {
		fw.write([]byte{','})
	}
	fw.write([]byte{'\n'})
	fw.write(bytes.TrimRight(fw.buf.Bytes(), "\n"))
	fw.sum.add(e.Action)
	return fw.err
}

// Close ends the operations, writes the summary and flushes. It does not
// close the underlying writer. Later calls to Write or Close fail.
func (fw *FileWriter) Close() error {
	if fw.closed {
		return errClosed
	}
	fw.closed = true
	fw.buf.Reset()
	if err := fw.enc.Encode(fw.sum); err != nil {
		return err // unreachable: a struct of ints
	}
	fw.write([]byte("\n],\"summary\":"))
	fw.write(bytes.TrimRight(fw.buf.Bytes(), "\n"))
	fw.write([]byte("}\n"))
	if fw.err == nil {
		fw.err = fw.w.Flush()
	}
	err := fw.err
	if err == nil {
		fw.err = errClosed
	}
	return err
}

// isJSONObject reports whether b is valid JSON whose value is an object.
func isJSONObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(b)
}

// FileReader reads a plan file as a stream, one entry at a time. It
// checks the structure (format, known actions, bodies that are objects,
// the closing summary against the entries read) but not the bodies'
// contents: pass each through OpFromBody or Validator.CheckBody before
// sending it.
//
// Because the summary comes last, a truncated file shows up only at the
// end: read the whole file once before acting on any entry.
type FileReader struct {
	dec   *json.Decoder
	h     Header
	res   *resource.Resource
	codec *entryCodec
	seen  Summary // counted while reading
	sum   Summary // from the file, valid after io.EOF
	last  int     // line of the last entry read, for messages
	err   error   // sticky; io.EOF at the end
}

// NewFileReader reads the header of the plan file on r. It fails with
// ErrFormat for a format or a resource it does not know and ErrDamaged for
// anything that is not a plan file's beginning.
func NewFileReader(r io.Reader) (*FileReader, error) {
	fr := &FileReader{dec: json.NewDecoder(r)}
	switch t, err := fr.dec.Token(); {
	case errors.Is(err, io.EOF):
		return nil, fmt.Errorf("%w: the file is empty", ErrDamaged)
	case err != nil:
		return nil, fmt.Errorf("%w: not a plan file (it does not start as JSON): %w", ErrDamaged, err)
	case t != json.Delim('{'):
		return nil, fmt.Errorf("%w: not a plan file (it does not start with a JSON object)", ErrDamaged)
	}
	// Collect the header's fields up to "operations", then decode them
	// strictly. The format is checked first so that a newer file gets
	// "unsupported format" rather than "unknown field".
	fields := map[string]json.RawMessage{}
	for {
		key, err := fr.key()
		if err != nil {
			return nil, err
		}
		if key == "operations" {
			break
		}
		var raw json.RawMessage
		if err := fr.dec.Decode(&raw); err != nil {
			return nil, fr.damaged("header field "+key, err)
		}
		fields[key] = raw
	}
	format, ok := fields["format"]
	if !ok {
		return nil, fmt.Errorf("%w: no format field; not a bulkpatch plan file", ErrFormat)
	}
	var n int
	if err := json.Unmarshal(format, &n); err != nil || n != FormatVersion {
		return nil, fmt.Errorf("%w: format %s; this bulkpatch reads format %d", ErrFormat, format, FormatVersion)
	}
	obj, err := json.Marshal(fields)
	if err != nil {
		return nil, fr.damaged("header", err)
	}
	hd := json.NewDecoder(bytes.NewReader(obj))
	hd.DisallowUnknownFields()
	if err := hd.Decode(&fr.h); err != nil {
		return nil, fr.damaged("header", err)
	}
	if fr.res, err = headerResource(fr.h.Resource); err != nil {
		return nil, err
	}
	for _, c := range fr.h.Columns {
		if fr.res.PropertyIndex(c) < 0 {
			return nil, fmt.Errorf("%w: header: column %q is not a property of %s", ErrDamaged, c, fr.res.Name)
		}
	}
	fr.codec = newEntryCodec(fr.res)
	if err := fr.delim('[', "the operations"); err != nil {
		return nil, err
	}
	fr.dec.DisallowUnknownFields()
	return fr, nil
}

// Header returns the plan file's header.
func (fr *FileReader) Header() Header { return fr.h }

// Resource returns the resource the plan writes: the one its header
// names, resource.Default() when it names none. Entries' keys are indexed
// like its Keys.
func (fr *FileReader) Resource() *resource.Resource { return fr.res }

// headerResource resolves a header's resource name.
func headerResource(name string) (*resource.Resource, error) {
	if name == "" {
		return resource.Default(), nil
	}
	if res, ok := resource.Lookup(name); ok {
		return res, nil
	}
	return nil, fmt.Errorf("%w: resource %q; this bulkpatch knows %s", ErrFormat, name, strings.Join(resource.Names(), ", "))
}

// Summary returns the counts the file ends with. It is valid once Next has
// returned io.EOF, which also means they matched the entries read.
func (fr *FileReader) Summary() Summary { return fr.sum }

// Next returns the next entry, io.EOF after the last one (once the
// summary has been read and checked), or an error wrapping ErrDamaged.
// After an error it keeps returning that error.
func (fr *FileReader) Next() (Entry, error) {
	if fr.err != nil {
		return Entry{}, fr.err
	}
	if !fr.dec.More() {
		fr.err = fr.finish()
		return Entry{}, fr.err
	}
	v := fr.codec.new()
	if err := fr.dec.Decode(v); err != nil {
		fr.err = fr.damaged(fr.where(), err)
		return Entry{}, fr.err
	}
	e := fr.codec.entry(v)
	switch {
	case !fr.seen.add(e.Action):
		fr.err = fmt.Errorf("%w: operation for line %d: unknown action %q", ErrDamaged, e.Line, e.Action)
	case e.Line <= 0:
		fr.err = fmt.Errorf("%w: %s has no valid line number", ErrDamaged, fr.where())
	case !isJSONObject(e.Body):
		fr.err = fmt.Errorf("%w: operation for line %d: the body is not a JSON object", ErrDamaged, e.Line)
	}
	if fr.err != nil {
		return Entry{}, fr.err
	}
	fr.last = e.Line
	return e, nil
}

// where names the position after the last good entry, for messages.
func (fr *FileReader) where() string {
	if fr.seen.Operations == 0 {
		return "the first operation"
	}
	return fmt.Sprintf("the operation after the one for line %d", fr.last)
}

// finish reads what follows the operations and checks the summary.
func (fr *FileReader) finish() error {
	if err := fr.delim(']', "the end of the operations"); err != nil {
		return err
	}
	gotSummary := false
	for {
		t, err := fr.dec.Token()
		if err != nil {
			return fr.damaged("the end", err)
		}
		if t == json.Delim('}') {
			break
		}
		key, ok := t.(string)
		if !ok || key != "summary" {
			return fmt.Errorf("%w: unexpected %v after the operations", ErrDamaged, t)
		}
		if err := fr.dec.Decode(&fr.sum); err != nil {
			return fr.damaged("the summary", err)
		}
		gotSummary = true
	}
	if _, err := fr.dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: data after the end of the plan", ErrDamaged)
	}
	if !gotSummary {
		return fmt.Errorf("%w: the summary is missing", ErrDamaged)
	}
	if fr.sum != fr.seen {
		return fmt.Errorf("%w: the summary counts %d operations (%d patch, %d update, %d unchanged) but the file holds %d (%d, %d, %d)",
			ErrDamaged, fr.sum.Operations, fr.sum.Patch, fr.sum.Update, fr.sum.Unchanged,
			fr.seen.Operations, fr.seen.Patch, fr.seen.Update, fr.seen.Unchanged)
	}
	return io.EOF
}

// delim reads the next token and requires it to be d; where names the
// place for messages.
func (fr *FileReader) delim(d json.Delim, where string) error {
	t, err := fr.dec.Token()
	if err != nil {
		return fr.damaged(where, err)
	}
	if t != d {
		return fmt.Errorf("%w: %s: expecting %q, found %v", ErrDamaged, where, string(d), t)
	}
	return nil
}

// key reads an object key of the header.
func (fr *FileReader) key() (string, error) {
	t, err := fr.dec.Token()
	if err != nil {
		return "", fr.damaged("the header", err)
	}
	key, ok := t.(string)
	if !ok {
		// '}' before "operations": a header alone, or not a plan at all.
		return "", fmt.Errorf("%w: no operations in the file", ErrDamaged)
	}
	return key, nil
}

// damaged wraps a decoding error, calling an early end what it is.
func (fr *FileReader) damaged(where string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the file ends early, in %s (truncated?)", ErrDamaged, where)
	}
	return fmt.Errorf("%w: %s: %w", ErrDamaged, where, err)
}
