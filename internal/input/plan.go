package input

import (
	"bufio"
	"errors"
	"io"
	"iter"

	"github.com/bulkpatch/bulkpatch/internal/plan"
)

// OpenPlan opens a plan saved by `plan --out` and holds it until Close.
// It checks that the input the plan was made from still has the bytes the
// plan names: otherwise the plan is a *StalePlanError. A file that is not
// a plan, or a damaged one, is a *FileError.
func OpenPlan(path string) (*Source, error) {
	h, err := openHeld(path)
	if err != nil {
		return nil, err
	}
	fr, err := plan.NewFileReader(h.reader())
	if err != nil {
		h.Close()
		return nil, &FileError{Path: path, Err: err}
	}
	hd := fr.Header()
	sum, err := FileSHA256(hd.InputPath)
	if err != nil || sum != hd.InputSHA256 {
		h.Close()
		return nil, &StalePlanError{Plan: path, Input: hd.InputPath, Err: err, Want: hd.InputSHA256, Got: sum}
	}
	s := &Source{Path: hd.InputPath, PlanPath: path, Plan: &hd, Res: fr.Resource(), SHA256: hd.InputSHA256, file: h}
	for _, name := range hd.Columns {
		if i := s.Res.PropertyIndex(name); i >= 0 {
			s.Props = append(s.Props, i)
		}
	}
	return s, nil
}

// Reconciles says whether applying the input reads each object first
// unless told otherwise: a CSV's, yes; a saved plan's as the plan was
// made (a reconciled plan is checked again, an offline one sent as it is).
func (s *Source) Reconciles() bool { return s.Plan == nil || s.Plan.Reconcile }

// planRows yields a saved plan's operations, each checked as strictly as
// a CSV row (CheckBody also catches the same object twice in a tampered
// plan). An operation that does not check out is a Row with Problems.
func (s *Source) planRows() iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		p := s.file.pass()
		br := bufio.NewReader(p.r)
		fr, err := plan.NewFileReader(br)
		if err != nil {
			yield(Row{}, &FileError{Path: s.PlanPath, Err: err})
			return
		}
		v := s.validator()
		for {
			en, err := fr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				yield(Row{}, &FileError{Path: s.PlanPath, Err: err})
				return
			}
			if !yield(s.planRow(v, en), nil) {
				return
			}
		}
		if err := p.end(br); err != nil {
			yield(Row{}, err)
		}
	}
}

func (s *Source) planRow(v *plan.Validator, en plan.Entry) Row {
	r := Row{Line: en.Line, Key: en.Key}
	op, problems := v.CheckBody(en.Line, en.Key, en.Body)
	if len(problems) > 0 {
		for _, p := range problems {
			r.Problems = append(r.Problems, p.Error())
		}
		r.Cells = make([]string, len(s.Props))
		return r
	}
	if en.Action == plan.ActionUnchanged {
		r.Action = plan.ActionUnchanged
	}
	r.Op, r.Body, r.Cells = op, op.AppendBody(nil), op.Cells(s.Props)
	return r
}
