// Package input holds a command's input open from its first read to its
// last — a CSV file or a saved plan — and reads it in passes, each an
// iterator of checked rows: one pass to validate everything before
// anything is sent, then one to send, then one to write the results. No
// pass keeps rows in memory, and every pass must read the same bytes.
package input

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"iter"
	"path/filepath"
	"strings"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/plan"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// Options says how to read a CSV input. The zero value reads the default
// resource with the delimiter detected and csvio's limits.
type Options struct {
	// Resource is what the rows describe; nil infers it from the header:
	// the one resource whose columns it fits (see Source.Check).
	Resource *resource.Resource
	// Comma is the delimiter; 0 detects it (see csvio.ReaderOptions).
	Comma rune
	// MaxRows refuses an input with more data rows; 0 means no limit.
	MaxRows int
	// MaxRecordBytes and MaxColumns are csvio's limits; 0 means its
	// defaults.
	MaxRecordBytes, MaxColumns int
	// Encoding is how the file is encoded; csvio.AutoEncoding detects
	// UTF-8 and UTF-16 with a byte order mark.
	Encoding csvio.Encoding
	// Stdin is what Open reads for the path "-" (standard input); nil:
	// "-" is a file of that name.
	Stdin io.Reader
	// SkipCollections makes Check leave Stats.Collections nil, saving a
	// count per collection (every user status is one), when nothing will
	// read live objects: validate, an offline plan, apply --no-reconcile
	// without --verify.
	SkipCollections bool
}

// Source is an input held open for a command. Its fields are set by Open
// or OpenPlan and by the first pass (Check).
type Source struct {
	// Path is the input CSV: the file given, or the one a plan was made
	// from. Results are named after it.
	Path string
	// PlanPath is the saved plan read, "" for a CSV input.
	PlanPath string
	// Plan is the saved plan's header, nil for a CSV input.
	Plan *plan.Header
	// Res is the resource the rows describe.
	Res *resource.Resource
	// SHA256 is the hex SHA-256 of the input CSV, known after Check.
	SHA256 string
	// Props are the property columns the input has, in input order, as
	// indexes into Res.Properties; Comments the headers of its comment
	// columns. Both are known after Check.
	Props    []int
	Comments []string
	// Dialect is how the input CSV is written (delimiter, encoding, BOM,
	// line ends), known after Check: the results are written the same.
	Dialect csvio.Dialect

	opt  Options
	file *held
	// v is the Validator every pass over the file shares (for vres): the
	// objects the first pass met are remembered once, and a later pass
	// over an invalid input finds the same duplicates without
	// remembering them again; after a clean check pass it remembers
	// nothing (plan.Validator.Forget).
	v    *plan.Validator
	vres *resource.Resource
}

// validator returns the Validator the passes share.
func (s *Source) validator() *plan.Validator {
	if s.v == nil || s.vres != s.Res {
		s.v, s.vres = plan.NewValidator(s.Res), s.Res
	}
	return s.v
}

// Row is one data row of the input, checked.
type Row struct {
	Line int          // physical line the row starts on
	Key  resource.Key // the key cells as written
	// Op is what the row asks for; send it only when Problems is empty.
	Op plan.Op
	// Body is Op's exact body, for a valid row.
	Body []byte
	// Action is a reconciled plan's verdict (plan.ActionUnchanged rows
	// need no write); "" for a CSV input.
	Action string
	// Problems says what is wrong with the row, one full message each
	// ("line 7, column errorCode: ..."); empty for a valid row.
	Problems []string
	// Cells are the row's property cells for the results file, aligned
	// with Props: as they will be sent, or as written in an invalid row.
	Cells []string
	// Comments are the row's comment cells, aligned with Comments.
	Comments []string
}

// Stats is what the check pass counted.
type Stats struct {
	Rows     int // data rows
	BadRows  int // rows with at least one problem
	Problems int
	// Collections counts the valid rows per collection
	// (Res.Collection of their key), for reconciliation to choose
	// between listing a collection and reading objects one by one; nil
	// with Options.SkipCollections.
	Collections map[resource.Key]int
}

// Open opens the CSV file at path, or opt.Stdin for "-", and holds it
// until Close. A pipe is copied to a private temporary file first, since
// every pass reads from the start. It reads nothing yet but to check that
// the file exists.
func Open(path string, opt Options) (*Source, error) {
	if path == "-" && opt.Stdin != nil {
		return OpenReader(path, opt.Stdin, opt)
	}
	h, err := openHeld(path)
	if err != nil {
		return nil, err
	}
	return &Source{Path: path, Res: opt.Resource, opt: opt, file: h}, nil
}

// Verify reads the whole input again and returns a *ChangedError when it
// no longer has the bytes the first pass read: what explains rows that no
// longer match what was done for them.
func (s *Source) Verify() error {
	p := s.file.pass()
	return p.end(p.r)
}

// OpenReader is Open for an input that can be read only once (standard
// input): it is copied to a private temporary file first, removed on
// Close. name names it in messages.
func OpenReader(name string, r io.Reader, opt Options) (*Source, error) {
	h, err := spool(name, r)
	if err != nil {
		return nil, err
	}
	return &Source{Path: name, Res: opt.Resource, opt: opt, file: h}, nil
}

// Close releases the input.
func (s *Source) Close() error { return s.file.Close() }

// Check reads the whole input once, checking every row, and hands each
// problem to problem as one message. It returns the counts, and an
// *InvalidError when any row has a problem, a *FileError when the input
// cannot be used at all, a *ChangedError, or, when no resource was given,
// an *AmbiguousError for a header that fits none or several. It must be
// the first pass; after it, Res is known. A clean pass leaves the later
// passes nothing to find among the rows (plan.Validator.Forget).
func (s *Source) Check(problem func(msg string)) (Stats, error) {
	var st Stats
	if !s.opt.SkipCollections {
		st.Collections = make(map[resource.Key]int)
	}
	if s.Res == nil {
		res, err := s.infer()
		if err != nil {
			return st, err
		}
		s.Res = res
	}
	rows := s.Rows()
	if s.Plan == nil {
		rows = s.csvRows(true) // counting needs no bodies
	}
	for r, err := range rows {
		if err != nil {
			return st, err
		}
		st.Rows++
		if len(r.Problems) > 0 {
			st.BadRows++
			st.Problems += len(r.Problems)
			for _, p := range r.Problems {
				problem(p)
			}
			continue
		}
		if st.Collections != nil {
			countCollection(st.Collections, s.Res.Collection(r.Key))
		}
	}
	if st.Problems > 0 {
		return st, &InvalidError{Path: s.shownPath(), Problems: st.Problems, BadRows: st.BadRows, Rows: st.Rows}
	}
	s.validator().Forget()
	return st, nil
}

func (s *Source) shownPath() string {
	if s.PlanPath != "" {
		return s.PlanPath
	}
	return s.Path
}

// countCollection counts one row in its collection. A new key gets its
// own copy of the ids: a row's strings share the memory of the whole
// input record, which a map key would otherwise keep alive.
func countCollection(m map[resource.Key]int, k resource.Key) {
	if n, ok := m[k]; ok {
		m[k] = n + 1
		return
	}
	for i := range k {
		k[i] = strings.Clone(k[i])
	}
	m[k] = 1
}

// Rows reads the input from its start and yields every row in input
// order, valid or not. A structural problem ends the sequence with a
// *FileError, a file changed since the first pass with a *ChangedError.
// Each call is a new pass; a Row's slices are its own.
func (s *Source) Rows() iter.Seq2[Row, error] {
	if s.Plan != nil {
		return s.planRows()
	}
	return s.csvRows(false)
}

// csvRows reads the CSV's rows; light ones (for counting) lack Body,
// Cells and Comments.
func (s *Source) csvRows(light bool) iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		p := s.file.pass()
		br := bufio.NewReader(p.r)
		cr, err := csvio.NewReader(br, s.readerOptions(s.Res))
		if err != nil {
			yield(Row{}, &FileError{Path: s.Path, Err: err})
			return
		}
		s.setColumns(cr)
		v := s.validator()
		var rec csvio.Record
		for n := 1; ; n++ {
			r, err := s.csvRow(cr, &rec, v, light)
			if err == io.EOF {
				break
			}
			if err == nil && s.opt.MaxRows > 0 && n > s.opt.MaxRows {
				err = &FileError{Path: s.Path, Err: fmt.Errorf("the input has more than --max-rows %d data rows: is it the right file?", s.opt.MaxRows)}
			}
			if err != nil {
				yield(Row{}, err)
				return
			}
			if !yield(r, nil) {
				return
			}
		}
		if err := p.end(br); err != nil {
			yield(Row{}, err)
			return
		}
		s.SHA256 = s.file.sha256
	}
}

// readerOptions are csvio's options for reading the file as res.
func (s *Source) readerOptions(res *resource.Resource) csvio.ReaderOptions {
	return csvio.ReaderOptions{
		Columns: plan.Columns(res), Suggest: plan.SuggestColumn(res), Comma: s.opt.Comma, Encoding: s.opt.Encoding,
		MaxRecordBytes: s.opt.MaxRecordBytes, MaxColumns: s.opt.MaxColumns,
	}
}

// setColumns records the columns and the dialect the file has.
func (s *Source) setColumns(cr *csvio.Reader) {
	s.Dialect = cr.Dialect()
	s.Props = s.Props[:0]
	nk := len(s.Res.Keys)
	for _, c := range cr.Columns() {
		if c >= nk {
			s.Props = append(s.Props, c-nk)
		}
	}
	s.Comments = cr.Comments()
}

// csvRow reads and checks the next row.
func (s *Source) csvRow(cr *csvio.Reader, rec *csvio.Record, v *plan.Validator, light bool) (Row, error) {
	err := cr.Read(rec)
	if err == io.EOF {
		return Row{}, io.EOF
	}
	var pe *csvio.ParseError
	if err != nil && !(errors.As(err, &pe) && rowError(pe)) {
		return Row{}, &FileError{Path: s.Path, Err: err}
	}
	r := Row{Line: rec.Line}
	if !light {
		r.Comments = append([]string(nil), rec.Comments...)
	}
	if err != nil {
		// The record could not be read as cells: no ids, no values.
		r.Line = pe.Line
		r.Problems = []string{pe.Error()}
		r.Cells = make([]string, len(s.Props))
		return r, nil
	}
	r.Key = plan.KeyCells(s.Res, rec)
	op, problems := v.Check(rec)
	if len(problems) > 0 {
		for _, p := range problems {
			r.Problems = append(r.Problems, p.Error())
		}
		if !light {
			r.Cells = make([]string, len(s.Props))
			for i, p := range s.Props {
				r.Cells[i] = plan.PropCell(s.Res, rec, p)
			}
		}
		return r, nil
	}
	r.Op = op
	if !light {
		r.Body, r.Cells = op.AppendBody(nil), op.Cells(s.Props)
	}
	return r, nil
}

// rowError reports whether a csvio error concerns one row only, so
// reading can go on and report the rest.
func rowError(pe *csvio.ParseError) bool {
	return errors.Is(pe, csvio.ErrFieldCount) || errors.Is(pe, csvio.ErrEmptyHeader)
}

// PropNames returns the names of the property columns the input has, in
// input order.
func (s *Source) PropNames() []string {
	names := make([]string, len(s.Props))
	for i, p := range s.Props {
		names[i] = s.Res.Properties[p].Name
	}
	return names
}

// PlanHeader returns the header of a plan of this input made by tool for
// the Graph root root.
func (s *Source) PlanHeader(tool, root string, reconcile bool) plan.Header {
	abs, err := filepath.Abs(s.Path)
	if err != nil {
		abs = s.Path
	}
	return plan.Header{
		Format:      plan.FormatVersion,
		Tool:        tool,
		CreatedAt:   time.Now().UTC(),
		InputPath:   abs,
		InputSHA256: s.SHA256,
		Resource:    s.Res.Name,
		GraphRoot:   root,
		Reconcile:   reconcile,
		Columns:     s.PropNames(),
	}
}

// WritePlan makes the plan of a valid input without the network on out,
// from Start to the last row: exactly what apply would send. tool and
// root go in its header (PlanHeader); out.Finish is the caller's.
func (s *Source) WritePlan(out *plan.Output, tool, root string) error {
	if err := out.Start(s.PlanHeader(tool, root, false)); err != nil {
		return err
	}
	rows := s.Rows()
	if s.Plan == nil {
		rows = s.csvRows(true) // Patch makes the bodies it shows or saves
	}
	for r, err := range rows {
		if err == nil {
			err = out.Patch(&r.Op, r.Body)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
