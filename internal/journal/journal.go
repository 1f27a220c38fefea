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
//
// The journal is also where the results file comes from: a Journal keeps
// in memory only a small index entry per input line (where its latest
// record is, its outcome and the identity of the row it was for), and
// Row reads a record back when the results are written, so a run's memory
// does not grow with what it has done.
package journal

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"sync"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/report"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// Format is the journal format this package writes and reads. Format 2
// records each row's key and identity and no longer its property cells.
const Format = 2

// maxRecord bounds one journal line read back; records are far smaller
// (error messages are cut to report.MaxErrorMessage runes).
const maxRecord = 1 << 20

// Header starts each run's part of a journal.
type Header struct {
	Format      int       // journal format, currently 2
	InputSHA256 string    // hex SHA-256 of the input the rows refer to
	StartedAt   time.Time // when the run opened the journal
	PID         int       // process that wrote the run
}

// Mode says what Open does with the journal of an earlier run.
type Mode int

const (
	// Auto continues an interrupted run of the same input, and starts
	// afresh when there is none: no journal, a completed one, or one
	// written for another input. It is what running the same command
	// line again (cron) needs.
	Auto Mode = iota
	// Resume continues an earlier run; a journal for another input is a
	// *MismatchError.
	Resume
	// Fresh always starts afresh.
	Fresh
)

// Opened says what Open found and did.
type Opened struct {
	// Resumed is set when an earlier, unfinished run (interrupted, or with
	// failed rows) is continued.
	Resumed bool
	// Done counts the input lines earlier runs finished (applied or
	// unchanged), when resumed.
	Done int
	// Replaced is set when a journal that held rows was started afresh:
	// the caller should keep that run's results file.
	Replaced bool
	// Why says why Open started afresh (empty when resumed): "no
	// journal", "the last run completed", "the input changed since the
	// last run", "--fresh" (Mode Fresh), or why the journal could not be
	// used.
	Why string
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

// RowMismatchError reports a record whose row differs from the input row
// at its line: other ids or another body. The journal is not this input's
// record, whatever its header says, and must not be trusted.
type RowMismatchError struct {
	Path string
	Line int // the input line
}

func (e *RowMismatchError) Error() string {
	return fmt.Sprintf("journal %s: the record for input line %d is for another row (other ids or values) than the input has there", e.Path, e.Line)
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

// RowID identifies the content of an input row: its object's key and the
// exact body sent. A record carries it, so a record is only ever taken for
// the row it was written for.
func RowID(key resource.Key, body []byte) uint64 {
	h := sha256.New()
	for _, k := range key {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(k)))
		h.Write(n[:])
		h.Write([]byte(k))
	}
	h.Write(body)
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// entry is what the journal keeps in memory of one input line: where its
// latest record is, and enough to answer Done without reading it.
type entry struct {
	off     int64  // offset of the record's line in the file
	id      uint64 // RowID of the row it was written for
	n       uint32 // length of the line, newline included; 0: no record
	outcome uint8  // index into outcomeCodes
	earlier bool   // written by an earlier run
}

// outcomeCodes numbers the outcomes a record can hold.
var outcomeCodes = []report.Outcome{report.Applied, report.Unchanged, report.Failed, report.Skipped, report.Invalid, report.NotAttempted}

func outcomeCode(o report.Outcome) uint8 {
	for i, c := range outcomeCodes {
		if c == o {
			return uint8(i)
		}
	}
	return uint8(len(outcomeCodes)) // Valid() rejects unknown outcomes before this
}

func (e entry) done() bool {
	o := outcomeCodes[e.outcome]
	return e.n > 0 && (o == report.Applied || o == report.Unchanged || o == report.Skipped)
}

// Journal appends rows to a journal file and reads them back. Its methods
// are safe for concurrent use.
type Journal struct {
	path string

	mu    sync.Mutex
	f     *os.File // nil once closed
	size  int64    // bytes of whole lines in the file
	err   error    // set when the file's tail may be torn: no more appends
	buf   bytes.Buffer
	enc   *json.Encoder
	index []entry // by input line
	runs  []Header
}

// Open opens the journal at path for a run over the input whose SHA-256
// (hex) is inputSHA256, as mode says (see Mode). Continuing, it reads the
// earlier runs' records, dropping a torn or garbled last line (what a kill
// leaves behind), and appends a header for this run. Starting afresh, it
// replaces the file (mode 0600).
//
// A damaged line before the last is a *CorruptError, and with Resume a
// journal written for another input is a *MismatchError; in both cases
// the file is left untouched.
func Open(path, inputSHA256 string, mode Mode) (*Journal, Opened, error) {
	j, good, o, err := inspect(path, inputSHA256, mode)
	if err != nil {
		return nil, Opened{}, err
	}
	if !o.Resumed {
		if j != nil {
			j.f.Close()
		}
		return fresh(path, inputSHA256, o)
	}
	if err := j.start(good, inputSHA256); err != nil {
		return nil, Opened{}, err
	}
	return j, o, nil
}

// Peek says what Open would do, without changing anything: a caller can
// show it (and ask) before an earlier run's journal is replaced.
func Peek(path, inputSHA256 string, mode Mode) (Opened, error) {
	j, _, o, err := inspect(path, inputSHA256, mode)
	if j != nil {
		j.f.Close()
	}
	return o, err
}

// inspect reads the journal at path and decides, as mode says, whether to
// continue it. When it can be continued it returns it loaded, with the
// length of its good prefix; otherwise Opened says why not.
func inspect(path, inputSHA256 string, mode Mode) (*Journal, int64, Opened, error) {
	if mode == Fresh {
		return nil, 0, Opened{Why: "--fresh", Replaced: nonEmpty(path)}, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, Opened{Why: "no journal"}, nil
	}
	if err != nil {
		return nil, 0, Opened{}, fmt.Errorf("open journal: %w", err)
	}
	j := &Journal{path: path, f: f}
	good, complete, err := j.load(f)
	if err != nil {
		f.Close()
		return nil, 0, Opened{}, err
	}
	rows := j.count(func(entry) bool { return true })
	var why string
	switch {
	case complete:
		why = "the last run completed"
	case rows == 0:
		why = "the journal holds no finished row"
	default:
		for _, h := range j.runs {
			if h.InputSHA256 == inputSHA256 {
				continue
			}
			if mode == Resume {
				f.Close()
				return nil, 0, Opened{}, &MismatchError{Path: path, Want: inputSHA256, Got: h.InputSHA256}
			}
			why = "the input changed since the last run"
		}
	}
	if why != "" {
		return j, 0, Opened{Why: why, Replaced: rows > 0}, nil
	}
	return j, good, Opened{Resumed: true, Done: j.count(entry.done)}, nil
}

// Verify checks, before anything is sent, that every record of the
// journal a run in mode would continue belongs to the row the input has
// at its line: rows yields each valid input row's line and RowID, in any
// order. A record for another row, or for a line rows does not yield (an
// invalid row, a line past the end), is a *RowMismatchError: the journal
// was edited or damaged, and trusting it would skip rows never applied.
// A journal the run would not continue is not checked.
func Verify(path, inputSHA256 string, mode Mode, rows iter.Seq2[int, uint64]) error {
	j, _, o, err := inspect(path, inputSHA256, mode)
	if j != nil {
		defer j.f.Close()
	}
	if err != nil || !o.Resumed {
		return err
	}
	matched := make([]bool, len(j.index))
	for line, id := range rows {
		if line < 0 || line >= len(j.index) || j.index[line].n == 0 {
			continue
		}
		if j.index[line].id != id {
			return &RowMismatchError{Path: path, Line: line}
		}
		matched[line] = true
	}
	for line, e := range j.index {
		if e.n > 0 && !matched[line] {
			return &RowMismatchError{Path: path, Line: line}
		}
	}
	return nil
}

func nonEmpty(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Size() > 0
}

// fresh starts a new journal at path.
func fresh(path, inputSHA256 string, o Opened) (*Journal, Opened, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, Opened{}, fmt.Errorf("create journal: %w", err)
	}
	j := &Journal{path: path, f: f}
	if err := j.start(0, inputSHA256); err != nil {
		return nil, Opened{}, err
	}
	return j, o, nil
}

// count returns how many lines have a record for which keep is true.
func (j *Journal) count(keep func(entry) bool) int {
	n := 0
	for _, e := range j.index {
		if e.n > 0 && keep(e) {
			n++
		}
	}
	return n
}

// start cuts the file to its first size bytes (dropping a torn tail),
// makes it private and appends this run's header. Records read so far
// become earlier runs'.
func (j *Journal) start(size int64, inputSHA256 string) error {
	fail := func(err error) error {
		j.f.Close()
		return fmt.Errorf("start journal: %w", err)
	}
	// The rows hold user and device names: keep them private even when
	// the file was created by someone else with a wider mode.
	if err := j.f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if fi, err := j.f.Stat(); err != nil {
		return fail(err)
	} else if fi.Size() != size {
		if err := j.f.Truncate(size); err != nil {
			return fail(err)
		}
	}
	for i := range j.index {
		j.index[i].earlier = true
	}
	j.size = size
	j.enc = json.NewEncoder(&j.buf)
	j.enc.SetEscapeHTML(false)
	h := Header{Format: Format, InputSHA256: inputSHA256, StartedAt: time.Now().UTC(), PID: os.Getpid()}
	if _, err := j.append(line{Header: headerJSON(h)}); err != nil {
		j.f.Close()
		return err // already says "write journal"
	}
	return nil
}

// Record appends r, the outcome of the input row whose RowID is id, as
// one whole line in a single write call (pwrite(2)), so a kill leaves
// either the line or at most a torn last line, which Open drops. A row
// without a valid line number or outcome is refused, since it would make
// the journal unreadable. After a failed write every later Record fails
// too: a journal that may be missing a row must not be relied on.
func (j *Journal) Record(r report.Row, id uint64) error {
	if r.Line < 1 {
		return fmt.Errorf("journal record: line %d: not an input line", r.Line)
	}
	if !r.Outcome.Valid() {
		return fmt.Errorf("journal record line %d: unknown outcome %q", r.Line, r.Outcome)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	off := j.size
	n, err := j.append(line{Row: rowJSON(r, id)})
	if err != nil {
		if j.err == nil {
			j.err = err
		}
		return err
	}
	j.set(r.Line, entry{off: off, n: uint32(n), id: id, outcome: outcomeCode(r.Outcome)})
	return nil
}

// set stores e as the latest record of line. Requires j.mu (or no
// concurrent use, while loading).
func (j *Journal) set(line int, e entry) {
	if line >= len(j.index) {
		j.index = append(j.index, make([]entry, line+1-len(j.index))...)
	}
	if prev := j.index[line]; prev.done() && outcomeCodes[e.outcome] == report.Skipped {
		// A skip only restates an earlier success; keep the success's
		// details (status, request id) for the results file.
		return
	}
	j.index[line] = e
}

// Done reports whether an earlier run finished the input row at line
// (applied or unchanged), for a row whose RowID is id. A record at that
// line for another row is a *RowMismatchError.
func (j *Journal) Done(line int, id uint64) (bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if line < 0 || line >= len(j.index) || j.index[line].n == 0 {
		return false, nil
	}
	e := j.index[line]
	if e.id != id {
		return false, &RowMismatchError{Path: j.path, Line: line}
	}
	return e.earlier && e.done(), nil
}

// Entry is a record read back for the results file.
type Entry struct {
	Row     report.Row
	Earlier bool // written by an earlier run, not this one
}

// Row returns the latest record of the input row at line whose RowID is
// id, and false when there is none. A record for another row is a
// *RowMismatchError.
func (j *Journal) Row(inputLine int, id uint64) (Entry, bool, error) {
	j.mu.Lock()
	if inputLine < 0 || inputLine >= len(j.index) || j.index[inputLine].n == 0 {
		j.mu.Unlock()
		return Entry{}, false, nil
	}
	e, f := j.index[inputLine], j.f
	j.mu.Unlock()
	if e.id != id {
		return Entry{}, false, &RowMismatchError{Path: j.path, Line: inputLine}
	}
	if f == nil {
		return Entry{}, false, fmt.Errorf("read journal: %w", os.ErrClosed)
	}
	b := make([]byte, e.n)
	if _, err := f.ReadAt(b, e.off); err != nil {
		return Entry{}, false, fmt.Errorf("read journal: %w", err)
	}
	var l line
	if err := json.Unmarshal(b, &l); err != nil || l.Row == nil {
		return Entry{}, false, &CorruptError{Path: j.path, Err: fmt.Errorf("the record of input line %d cannot be read back: %v", inputLine, err)}
	}
	return Entry{Row: l.Row.report(), Earlier: e.earlier}, true, nil
}

// Runs returns the headers of the earlier runs continued, oldest first.
func (j *Journal) Runs() []Header {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Header(nil), j.runs...)
}

// Complete records that the run finished cleanly (every row applied,
// unchanged or skipped) and syncs the file, so that a later run, even with
// Resume, starts afresh instead of skipping everything.
func (j *Journal) Complete() error {
	j.mu.Lock()
	_, err := j.append(line{Complete: &completeRecord{At: time.Now().UTC()}})
	j.mu.Unlock()
	if err != nil {
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

// append writes l as one line at the end and returns its length. Requires
// j.mu (or no concurrent use).
func (j *Journal) append(l line) (int, error) {
	if j.f == nil {
		return 0, fmt.Errorf("write journal: %w", os.ErrClosed)
	}
	if j.err != nil {
		return 0, j.err
	}
	j.buf.Reset()
	if err := j.enc.Encode(l); err != nil { // Encode ends the line with '\n'
		return 0, fmt.Errorf("write journal: %w", err)
	}
	// Writing at the known end rather than with O_APPEND: Windows cannot
	// truncate a file opened for appending only, and start and the error
	// path below must be able to cut a torn tail.
	n, err := j.f.WriteAt(j.buf.Bytes(), j.size)
	if err == nil {
		j.size += int64(n)
		return n, nil
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
	return 0, err
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
	Line            int            `json:"line"`
	Key             resource.Key   `json:"key"`
	ID              string         `json:"id"` // RowID in hex
	Outcome         report.Outcome `json:"outcome"`
	HTTPStatus      int            `json:"http_status,omitempty"`
	ErrorCode       string         `json:"error_code,omitempty"`
	ErrorMessage    string         `json:"error_message,omitempty"`
	Attempts        int            `json:"attempts,omitempty"`
	RequestID       string         `json:"request_id,omitempty"`
	ClientRequestID string         `json:"client_request_id,omitempty"`
	DurationNS      int64          `json:"duration_ns,omitempty"`
	FinishedAt      time.Time      `json:"finished_at,omitzero"`
}

func headerJSON(h Header) *header {
	return &header{Format: h.Format, InputSHA256: h.InputSHA256, StartedAt: h.StartedAt, PID: h.PID}
}

func rowJSON(r report.Row, id uint64) *row {
	return &row{
		Line: r.Line, Key: r.Key, ID: idHex(id), Outcome: r.Outcome, HTTPStatus: r.HTTPStatus,
		ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage, Attempts: r.Attempts, RequestID: r.RequestID,
		ClientRequestID: r.ClientRequestID, DurationNS: int64(r.Duration), FinishedAt: r.FinishedAt,
	}
}

func (r *row) report() report.Row {
	return report.Row{
		Line: r.Line, Key: r.Key, Outcome: r.Outcome, HTTPStatus: r.HTTPStatus,
		ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage, Attempts: r.Attempts, RequestID: r.RequestID,
		ClientRequestID: r.ClientRequestID, Duration: time.Duration(r.DurationNS), FinishedAt: r.FinishedAt,
	}
}

func idHex(id uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], id)
	return hex.EncodeToString(b[:])
}

// load reads a journal into j's index and runs. It returns the length of
// the prefix of whole good lines, and whether the last record marks a
// clean finish.
func (j *Journal) load(r io.Reader) (good int64, complete bool, err error) {
	br := bufio.NewReader(r)
	var (
		offset  int64
		n       int   // line number
		badLine int   // line number of a damaged line, tolerated only if last
		badErr  error // why it is damaged
	)
	for {
		b, rerr := br.ReadBytes('\n')
		if len(b) > 0 {
			if badErr != nil {
				return 0, false, &CorruptError{Path: j.path, Line: badLine, Err: badErr}
			}
			n++
			if rerr == io.EOF {
				break // no newline: a torn last write
			}
			if perr := j.parse(b, offset, &complete); perr != nil {
				badLine, badErr = n, perr
			} else {
				offset += int64(len(b))
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, false, fmt.Errorf("read journal: %w", rerr)
		}
	}
	return offset, complete, nil
}

var (
	errNotHeader = errors.New("the journal does not start with a run header")
	errEmpty     = errors.New("not a journal record")
)

// parse applies the journal line b, found at offset off, to j. A complete
// marker ends the runs before it: what follows belongs to a fresh journal.
func (j *Journal) parse(b []byte, off int64, complete *bool) error {
	if len(b) > maxRecord {
		return fmt.Errorf("a record of %d bytes; records are far smaller", len(b))
	}
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
		j.runs = append(j.runs, Header{Format: h.Format, InputSHA256: h.InputSHA256, StartedAt: h.StartedAt, PID: h.PID})
		*complete = false
	case l.Row != nil && l.Header == nil && l.Complete == nil:
		return j.parseRow(l.Row, off, len(b))
	case l.Complete != nil && l.Header == nil && l.Row == nil:
		if len(j.runs) == 0 {
			return errNotHeader
		}
		clear(j.index)
		j.runs = nil
		*complete = true
	default:
		return errEmpty
	}
	return nil
}

func (j *Journal) parseRow(r *row, off int64, n int) error {
	if len(j.runs) == 0 {
		return errNotHeader
	}
	if r.Line < 1 || r.Line > 1<<31 {
		return fmt.Errorf("row for line %d: not an input line", r.Line)
	}
	if !r.Outcome.Valid() {
		return fmt.Errorf("row for line %d: unknown outcome %q", r.Line, r.Outcome)
	}
	id, err := hex.DecodeString(r.ID)
	if err != nil || len(id) != 8 {
		return fmt.Errorf("row for line %d: bad row id %q", r.Line, r.ID)
	}
	j.set(r.Line, entry{off: off, n: uint32(n), id: binary.BigEndian.Uint64(id), outcome: outcomeCode(r.Outcome)})
	return nil
}
