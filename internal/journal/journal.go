// Package journal keeps the durable record that makes apply resumable: an
// append-only file of JSON lines, one per finished row, kept next to the
// results file, and a lock so that only one run writes a results file at
// a time.
//
// A run killed at any point, even by SIGKILL, leaves a journal whose every
// complete line is a row that really finished; at most the last line is
// torn, and Open drops it. Rows whose last record is lost are simply sent
// again on resume, which is harmless because a PATCH of the same values is
// idempotent. That is why Record does not fsync every line: losing a tail
// to a power cut costs repeated work, never wrong results.
package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/report"
)

// Format is the journal format this package writes and reads.
const Format = 1

// Header starts each run's part of a journal.
type Header struct {
	Format      int       // journal format, currently 1
	InputSHA256 string    // hex SHA-256 of the input the rows refer to
	StartedAt   time.Time // when the run opened the journal
	PID         int       // process that wrote the run
}

// MismatchError reports a journal written for a different input: its
// line numbers mean nothing for this one, so it cannot be resumed.
type MismatchError struct {
	Path string
	Want string // the input's SHA-256 given to Open
	Got  string // the SHA-256 the journal was written for
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("journal %s was written for another input (sha256 %s, this input is %s)",
		e.Path, short(e.Got), short(e.Want))
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12] + "…"
	}
	return hash
}

// CorruptError reports a journal that cannot be read back: a damaged line
// before the last one, which a crash cannot produce, or a file that is not
// a journal at all.
type CorruptError struct {
	Path string
	Line int // 1-based line of the journal file
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("journal %s line %d: %v", e.Path, e.Line, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// State is what earlier runs recorded: for each input line, the latest row.
// A nil *State is empty.
type State struct {
	runs []Header
	rows map[int]report.Row
}

// Done returns the recorded row for line and true when that line is done:
// its latest record is applied or unchanged. A skipped record (a later run
// passing over a done row) keeps the row done and the original record.
func (s *State) Done(line int) (report.Row, bool) {
	r, ok := s.Row(line)
	if !ok || !isDone(r.Outcome) {
		return report.Row{}, false
	}
	return r, true
}

// Row returns the latest row recorded for line, whatever its outcome.
func (s *State) Row(line int) (report.Row, bool) {
	if s == nil {
		return report.Row{}, false
	}
	r, ok := s.rows[line]
	return r, ok
}

// Len returns how many input lines have a record.
func (s *State) Len() int {
	if s == nil {
		return 0
	}
	return len(s.rows)
}

// Runs returns the headers of the earlier runs recorded, oldest first.
func (s *State) Runs() []Header {
	if s == nil {
		return nil
	}
	return append([]Header(nil), s.runs...)
}

func isDone(o report.Outcome) bool {
	return o == report.Applied || o == report.Unchanged || o == report.Skipped
}

func (s *State) add(r report.Row) {
	if prev, ok := s.rows[r.Line]; ok && r.Outcome == report.Skipped && isDone(prev.Outcome) {
		// A skip only restates an earlier success; keep the success's
		// details (status, request id) for the results file.
		return
	}
	s.rows[r.Line] = r
}

// Journal appends rows to a journal file. Its methods are safe for
// concurrent use.
type Journal struct {
	path string

	mu   sync.Mutex
	f    *os.File // nil once closed
	size int64    // bytes of whole lines in the file
	err  error    // set when the file's tail may be torn: no more appends
	buf  bytes.Buffer
	enc  *json.Encoder
}

// Open opens the journal at path for a run over the input whose SHA-256
// (hex) is inputSHA256.
//
// With resume false, or when there is nothing to resume (no file, or one
// without rows, or one whose last record marks a clean finish), Open
// starts a fresh journal (mode 0600) and returns an empty State.
//
// With resume true it reads the earlier runs' records and returns them as
// State, dropping a torn or garbled last line (what a kill leaves behind).
// A damaged line before the last is a *CorruptError, and a journal written
// for another input is a *MismatchError; in both cases the file is left
// untouched. Then it appends a header for this run.
func Open(path, inputSHA256 string, resume bool) (*Journal, *State, error) {
	if !resume {
		return create(path, inputSHA256)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return create(path, inputSHA256)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open journal: %w", err)
	}
	st, good, fresh, err := load(path, f)
	if err == nil && !fresh {
		err = checkInput(path, inputSHA256, st.runs)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if fresh {
		f.Close()
		return create(path, inputSHA256)
	}
	j, err := start(path, f, good, inputSHA256)
	if err != nil {
		return nil, nil, err
	}
	return j, st, nil
}

func checkInput(path, want string, runs []Header) error {
	for _, h := range runs {
		if h.InputSHA256 != want {
			return &MismatchError{Path: path, Want: want, Got: h.InputSHA256}
		}
	}
	return nil
}

func create(path, inputSHA256 string) (*Journal, *State, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("create journal: %w", err)
	}
	j, err := start(path, f, 0, inputSHA256)
	if err != nil {
		return nil, nil, err
	}
	return j, &State{rows: map[int]report.Row{}}, nil
}

// start cuts f to its first size bytes (dropping a torn tail), makes it
// private and appends this run's header.
func start(path string, f *os.File, size int64, inputSHA256 string) (*Journal, error) {
	fail := func(err error) (*Journal, error) {
		f.Close()
		return nil, fmt.Errorf("start journal: %w", err)
	}
	// The rows hold user and device names: keep them private even when
	// the file was created by someone else with a wider mode.
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if fi, err := f.Stat(); err != nil {
		return fail(err)
	} else if fi.Size() != size {
		if err := f.Truncate(size); err != nil {
			return fail(err)
		}
	}
	j := &Journal{path: path, f: f, size: size}
	j.enc = json.NewEncoder(&j.buf)
	j.enc.SetEscapeHTML(false)
	h := Header{Format: Format, InputSHA256: inputSHA256, StartedAt: time.Now().UTC(), PID: os.Getpid()}
	if err := j.append(line{Header: headerJSON(h)}); err != nil {
		f.Close()
		return nil, err // already says "write journal"
	}
	return j, nil
}

// Record appends r as one whole line in a single write call (pwrite(2)),
// so a kill leaves either the line or at most a torn last line, which
// Open drops. A row without a valid line number or outcome is refused,
// since it would make the journal unreadable.
func (j *Journal) Record(r report.Row) error {
	if r.Line < 1 {
		return fmt.Errorf("journal record: line %d: not an input line", r.Line)
	}
	if !r.Outcome.Valid() {
		return fmt.Errorf("journal record line %d: unknown outcome %q", r.Line, r.Outcome)
	}
	return j.append(line{Row: rowJSON(r)})
}

// Complete records that the run finished cleanly (every row applied,
// unchanged or skipped) and syncs the file, so that a later run, even with
// resume, starts afresh instead of skipping everything.
func (j *Journal) Complete() error {
	if err := j.append(line{Complete: &completeRecord{At: time.Now().UTC()}}); err != nil {
		return err
	}
	return j.Sync()
}

// Sync flushes the journal to stable storage.
func (j *Journal) Sync() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return fmt.Errorf("sync journal: %w", os.ErrClosed)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync journal: %w", err)
	}
	return nil
}

// Close syncs and closes the journal.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return fmt.Errorf("close journal: %w", os.ErrClosed)
	}
	f := j.f
	j.f = nil
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close journal: %w", err)
	}
	return nil
}

func (j *Journal) append(l line) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return fmt.Errorf("write journal: %w", os.ErrClosed)
	}
	if j.err != nil {
		return j.err
	}
	j.buf.Reset()
	if err := j.enc.Encode(l); err != nil { // Encode ends the line with '\n'
		return fmt.Errorf("write journal: %w", err)
	}
	// Writing at the known end rather than with O_APPEND: Windows cannot
	// truncate a file opened for appending only, and start and the error
	// path below must be able to cut a torn tail.
	n, err := j.f.WriteAt(j.buf.Bytes(), j.size)
	if err == nil {
		j.size += int64(n)
		return nil
	}
	err = fmt.Errorf("write journal: %w", err)
	if n > 0 {
		// A part of the line reached the file (a full disk, say). Appending
		// after it would bury a torn line in the middle, which Open rightly
		// rejects; cut it off, or refuse every later append.
		if terr := j.f.Truncate(j.size); terr != nil {
			j.err = err
		}
	}
	return err
}

// line is one journal line: exactly one of its fields is set.
type line struct {
	Header   *header         `json:"header,omitempty"`
	Row      *row            `json:"row,omitempty"`
	Complete *completeRecord `json:"complete,omitempty"`
}

type header struct {
	Format      int       `json:"format"`
	InputSHA256 string    `json:"input_sha256"`
	StartedAt   time.Time `json:"started_at,omitzero"`
	PID         int       `json:"pid,omitempty"`
}

type completeRecord struct {
	At time.Time `json:"at,omitzero"`
}

type row struct {
	Line                     int            `json:"line"`
	MobileAppID              string         `json:"mobileAppId,omitempty"`
	UserAppInstallStatusID   string         `json:"userAppInstallStatusId,omitempty"`
	MobileAppInstallStatusID string         `json:"mobileAppInstallStatusId,omitempty"`
	Outcome                  report.Outcome `json:"outcome"`
	HTTPStatus               int            `json:"http_status,omitempty"`
	ErrorCode                string         `json:"error_code,omitempty"`
	ErrorMessage             string         `json:"error_message,omitempty"`
	Attempts                 int            `json:"attempts,omitempty"`
	RequestID                string         `json:"request_id,omitempty"`
	ClientRequestID          string         `json:"client_request_id,omitempty"`
	DurationNS               int64          `json:"duration_ns,omitempty"`
	FinishedAt               time.Time      `json:"finished_at,omitzero"`
	Props                    []string       `json:"props,omitempty"`
}

func headerJSON(h Header) *header {
	return &header{Format: h.Format, InputSHA256: h.InputSHA256, StartedAt: h.StartedAt, PID: h.PID}
}

func rowJSON(r report.Row) *row {
	return &row{
		Line: r.Line, MobileAppID: r.MobileAppID, UserAppInstallStatusID: r.UserAppInstallStatusID,
		MobileAppInstallStatusID: r.MobileAppInstallStatusID, Outcome: r.Outcome, HTTPStatus: r.HTTPStatus,
		ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage, Attempts: r.Attempts, RequestID: r.RequestID,
		ClientRequestID: r.ClientRequestID, DurationNS: int64(r.Duration), FinishedAt: r.FinishedAt, Props: r.Props,
	}
}

func (r *row) report() report.Row {
	return report.Row{
		Line: r.Line, MobileAppID: r.MobileAppID, UserAppInstallStatusID: r.UserAppInstallStatusID,
		MobileAppInstallStatusID: r.MobileAppInstallStatusID, Outcome: r.Outcome, HTTPStatus: r.HTTPStatus,
		ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage, Attempts: r.Attempts, RequestID: r.RequestID,
		ClientRequestID: r.ClientRequestID, Duration: time.Duration(r.DurationNS), FinishedAt: r.FinishedAt, Props: r.Props,
	}
}

// load reads a journal. It returns the state, the length of the prefix of
// whole good lines, and fresh when there is nothing to resume: no rows, or
// a last record marking a clean finish.
func load(path string, r io.Reader) (st *State, good int64, fresh bool, err error) {
	st = &State{rows: map[int]report.Row{}}
	br := bufio.NewReader(r)
	var (
		offset   int64
		n        int   // line number
		badLine  int   // line number of a damaged line, tolerated only if last
		badErr   error // why it is damaged
		complete bool
	)
	for {
		b, rerr := br.ReadBytes('\n')
		if len(b) > 0 {
			if badErr != nil {
				return nil, 0, false, &CorruptError{Path: path, Line: badLine, Err: badErr}
			}
			n++
			if rerr == io.EOF {
				// No newline: a torn last write.
				break
			}
			if perr := parse(b, st, &complete); perr != nil {
				badLine, badErr = n, perr
			} else {
				offset += int64(len(b))
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, 0, false, fmt.Errorf("read journal: %w", rerr)
		}
	}
	// A journal with no rows has nothing to resume, whatever input it was
	// for: starting afresh loses nothing.
	return st, offset, complete || len(st.rows) == 0, nil
}

var (
	errNotHeader = errors.New("the journal does not start with a run header")
	errEmpty     = errors.New("not a journal record")
)

// parse applies one journal line to st. A complete marker ends the runs
// before it: what follows belongs to a fresh journal.
func parse(b []byte, st *State, complete *bool) error {
	var l line
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("not a journal record: %w", err)
	}
	switch {
	case l.Header != nil && l.Row == nil && l.Complete == nil:
		h := l.Header
		if h.Format != Format {
			return fmt.Errorf("journal format %d is not supported (this bulkpatch reads format %d)", h.Format, Format)
		}
		st.runs = append(st.runs, Header{Format: h.Format, InputSHA256: h.InputSHA256, StartedAt: h.StartedAt, PID: h.PID})
		*complete = false
	case l.Row != nil && l.Header == nil && l.Complete == nil:
		if len(st.runs) == 0 {
			return errNotHeader
		}
		if l.Row.Line < 1 {
			return fmt.Errorf("row for line %d: not an input line", l.Row.Line)
		}
		if !l.Row.Outcome.Valid() {
			return fmt.Errorf("row for line %d: unknown outcome %q", l.Row.Line, l.Row.Outcome)
		}
		st.add(l.Row.report())
	case l.Complete != nil && l.Header == nil && l.Row == nil:
		if len(st.runs) == 0 {
			return errNotHeader
		}
		clear(st.rows)
		st.runs = nil
		*complete = true
	default:
		return errEmpty
	}
	return nil
}
