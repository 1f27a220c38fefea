package plan

import (
	"fmt"
	"hash/maphash"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/schema"
)

// Validator checks input rows one at a time and remembers which objects
// earlier rows addressed, to catch the same object twice. Use one
// Validator per input file; the zero value is ready to use. It is not
// safe for concurrent use.
type Validator struct {
	// seen maps the first 64 bits of a 96-bit hash of a row's three ids to
	// the row's line and the other 32 bits. Hashes rather than the ids
	// keep the memory flat however long the ids are: 16 bytes a row plus
	// map overhead, about 34 bytes a row at worst, just after the map grew
	// (a [2]uint64 key took 24 bytes and 50 at worst). At 96 bits a false
	// duplicate among even billions of rows is not a practical concern.
	seen map[uint64]seenRow
	// more holds the rare rows whose first 64 bits equal an earlier row's
	// while the other 32 differ, keyed by all 96.
	more         map[[2]uint64]int32
	seed1, seed2 maphash.Seed
}

// seenRow is what seen keeps of a row: its line and the hash bits that
// are not the map key.
type seenRow struct {
	line int32
	tag  uint32
}

// NewValidator returns a Validator that has seen no rows. Its hash seeds
// are random, so hostile ids cannot be chosen to collide.
func NewValidator() *Validator {
	return &Validator{
		seen:  make(map[uint64]seenRow),
		seed1: maphash.MakeSeed(),
		seed2: maphash.MakeSeed(),
	}
}

// idColumns names the three id columns of a duplicate problem.
const idColumns = "mobileAppId/userAppInstallStatusId/mobileAppInstallStatusId"

// Check validates one row and returns the operation it asks for and every
// problem found in it, in column order. The Op always carries the row's
// line and ids, also when there are problems, so that a report can name
// the row; it must be sent only when there are no problems.
//
// Check also records the row's object: a later row with the same app,
// user status and status id gets a problem naming this row's line.
func (v *Validator) Check(rec *csvio.Record) (Op, []Problem) {
	op := Op{
		Line:         rec.Line,
		AppID:        rec.Cells[csvio.MobileAppID],
		UserStatusID: rec.Cells[csvio.UserAppInstallStatusID],
		StatusID:     rec.Cells[csvio.MobileAppInstallStatusID],
	}
	probs := checkIDs(nil, op.Line, op.AppID, op.UserStatusID, op.StatusID)
	if len(probs) == 0 {
		probs = v.remember(probs, &op)
	}
	empty := true
	for i, p := range schema.Properties {
		cell := rec.Cells[csvio.FirstProperty+csvio.Column(i)]
		if cell == "" {
			continue // Leave
		}
		empty = false
		val, msg := parseCell(p, cell)
		if msg != "" {
			probs = append(probs, Problem{Line: op.Line, Column: p.Name, Value: cell, Msg: msg})
			continue
		}
		op.Props[i] = val
	}
	if empty {
		probs = append(probs, Problem{Line: op.Line, Msg: msgNothing})
	}
	return op, probs
}

// msgNothing explains a row that would send an empty PATCH. It is allowed
// by Graph but certainly a mistake in a file meant to change things.
const msgNothing = "nothing to change: every property cell is empty"

// remember records op's object and adds a problem when an earlier row
// already addressed it.
func (v *Validator) remember(probs []Problem, op *Op) []Problem {
	k, tag := v.key(op.AppID, op.UserStatusID, op.StatusID)
	return v.rememberKey(probs, op, k, tag)
}

// rememberKey is remember for a row whose ids hash to k and tag.
func (v *Validator) rememberKey(probs []Problem, op *Op, k uint64, tag uint32) []Problem {
	line := op.Line
	if line > math.MaxInt32 || line < 0 {
		line = math.MaxInt32 // not a realistic file; keep a marker rather than wrap
	}
	prev, ok := v.seen[k]
	switch {
	case !ok:
		v.seen[k] = seenRow{line: int32(line), tag: tag}
		return probs
	case prev.tag != tag:
		// Another object shares the first 64 bits: look among the rare
		// rows kept with all 96.
		full := [2]uint64{k, uint64(tag)}
		l, ok := v.more[full]
		if !ok {
			if v.more == nil {
				v.more = make(map[[2]uint64]int32)
			}
			v.more[full] = int32(line)
			return probs
		}
		prev.line = l
	}
	return append(probs, Problem{
		Line: op.Line, Column: idColumns,
		Msg:       fmt.Sprintf("same object as line %d", prev.line),
		OtherLine: int(prev.line),
	})
}

// key hashes the ids, each preceded by its length so that the direct
// route (no user status) and the nested one never share a key: 64 bits
// for the map key and 32 more, from a second seed, for the tag.
func (v *Validator) key(app, user, status string) (uint64, uint32) {
	if v.seen == nil { // a zero Validator works too
		*v = *NewValidator()
	}
	var h maphash.Hash
	h.SetSeed(v.seed1)
	writeIDs(&h, app, user, status)
	a := h.Sum64()
	h.SetSeed(v.seed2)
	writeIDs(&h, app, user, status)
	return a, uint32(h.Sum64() >> 32)
}

func writeIDs(h *maphash.Hash, app, user, status string) {
	for _, s := range [3]string{app, user, status} {
		n := len(s)
		h.WriteByte(byte(n >> 24))
		h.WriteByte(byte(n >> 16))
		h.WriteByte(byte(n >> 8))
		h.WriteByte(byte(n))
		h.WriteString(s)
	}
}

// checkIDs appends a problem for each of the row's ids that breaks the id
// rules, and for an empty required id.
func checkIDs(probs []Problem, line int, app, user, status string) []Problem {
	for _, id := range [3]struct {
		col      csvio.Column
		val      string
		required bool
	}{
		{csvio.MobileAppID, app, true},
		{csvio.UserAppInstallStatusID, user, false},
		{csvio.MobileAppInstallStatusID, status, true},
	} {
		if id.val == "" {
			if id.required {
				probs = append(probs, Problem{Line: line, Column: id.col.String(), Msg: "required, but the cell is empty"})
			}
			continue
		}
		if msg := checkID(id.val); msg != "" {
			probs = append(probs, Problem{Line: line, Column: id.col.String(), Value: id.val, Msg: msg})
		}
	}
	return probs
}

// maxIDBytes bounds an id. Intune ids are GUIDs or GUID pairs (under 100
// bytes); anything much longer is a wrong column.
const maxIDBytes = 256

// idRule is the tail of every id message: what an id may be.
const idRule = "; ids may not contain / \\ ? # %, whitespace, control or invisible characters, or look-alikes of / \\ ? # % ."

// CheckID says what is wrong with a non-empty id given anywhere else than
// in an input cell (export's --app and --user-status), or "" when it is
// acceptable: the same rules as for the id columns.
func CheckID(s string) string { return checkID(s) }

// checkID says what is wrong with a non-empty id, or "". Ids are opaque
// and path-escaped anyway, but a character that a proxy, a log or a
// Unicode normaliser could turn into a path separator, a query, a
// fragment, an escape or a dot segment has no business in one, and an
// invisible one makes two different ids look the same to the admin.
func checkID(s string) string {
	if len(s) > maxIDBytes {
		return fmt.Sprintf("is %d bytes long; ids have at most %d", len(s), maxIDBytes)
	}
	if s == "." || s == ".." {
		return "is a dot path segment, not an id" + idRule
	}
	// Fast path: ids are nearly always GUIDs, all allowed ASCII. Only an
	// id with anything else is walked rune by rune below.
	i := 0
	for i < len(s) && idASCII[s[i]] {
		i++
	}
	if i == len(s) {
		return ""
	}
	return checkIDRunes(s)
}

// checkIDRunes is checkID's full check of every character.
func checkIDRunes(s string) string {
	pos := 0 // in characters, for the message
	for i := 0; i < len(s); {
		pos++
		if c := s[i]; c < utf8.RuneSelf {
			if c > ' ' && c < 0x7f && c != '/' && c != '\\' && c != '?' && c != '#' && c != '%' {
				i++ // the common case: a printable ASCII character
				continue
			}
			return msgBadIDRune(rune(c), pos)
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return "is not valid UTF-8; save the file as UTF-8"
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) || lookAlike(r) != 0 || invisible(r) {
			return msgBadIDRune(r, pos)
		}
		i += size
	}
	return ""
}

// idASCII marks the bytes that checkID's fast path accepts: printable
// ASCII except / \ ? # %. It is filled once and only read.
var idASCII = func() (t [256]bool) {
	for c := '!'; c < 0x7f; c++ {
		t[c] = !strings.ContainsRune(`/\?#%`, c)
	}
	return t
}()

// msgBadIDRune explains why r, the pos-th character of an id, is refused.
func msgBadIDRune(r rune, pos int) string {
	var what string
	switch {
	case unicode.IsSpace(r):
		what = "the whitespace "
	case unicode.IsControl(r):
		what = "the control character "
	case lookAlike(r) != 0:
		return fmt.Sprintf("contains %U %q at character %d, a look-alike of %q%s", r, r, pos, lookAlike(r), idRule)
	case invisible(r):
		what = "the invisible character "
	}
	return fmt.Sprintf("contains %s%q (%U) at character %d%s", what, r, r, pos, idRule)
}

// lookAlike returns the ASCII character r imitates among / \ ? # % ., or
// 0. The list holds every code point whose NFKC or NFKD form contains one
// of them (generated with golang.org/x/text/unicode/norm over all of
// Unicode 15) plus symbols drawn the same without a compatibility mapping.
func lookAlike(r rune) rune {
	switch r {
	// NFKC/NFKD maps these to text containing '/'.
	case 0xFF0F, 0x2100, 0x2101, 0x2105, 0x2106:
		return '/'
	// Drawn like '/'.
	case 0x2215, 0x2044, 0x29F8, 0x2571, 0x27CB, 0x1735, 0x0338, 0x0337:
		return '/'
	// NFKC maps these to '\'.
	case 0xFF3C, 0xFE68:
		return '\\'
	// Drawn like '\'.
	case 0x2216, 0x29F5, 0x29F9, 0x2572, 0x27CD, 0x20E5:
		return '\\'
	case 0xFF1F, 0xFE56, 0xFE16, 0x2047, 0x2048, 0x2049, 0x2E2E:
		return '?'
	case 0xFF03, 0xFE5F:
		return '#'
	case 0xFF05, 0xFE6A, 0x066A, 0x2052, 0x2030, 0x2031:
		return '%'
	case 0xFF0E, 0xFE52, 0x2024, 0x2025, 0x2026, 0xFE19, 0xFE30, 0x33C2, 0x33C7, 0x33D8,
		0x1F100, 0x3002, 0xFF61:
		return '.'
	}
	if 0x2488 <= r && r <= 0x249B { // ⒈ .. ⒛: a digit and a full stop
		return '.'
	}
	return 0
}

// invisible reports whether r draws nothing (or nothing by itself): format
// characters such as zero-width space and BOM, and the blank letters,
// joiners and selectors outside that category.
func invisible(r rune) bool {
	switch {
	case unicode.Is(unicode.Cf, r):
		return true
	case r == 0x115F || r == 0x1160 || r == 0x3164 || r == 0xFFA0: // Hangul fillers
		return true
	case r == 0x2800: // Braille blank
		return true
	case r == 0x034F || r == 0x17B4 || r == 0x17B5: // grapheme joiner, Khmer inherent vowels
		return true
	case 0xFE00 <= r && r <= 0xFE0F, 0xE0100 <= r && r <= 0xE01EF: // variation selectors
		return true
	case 0xFDD0 <= r && r <= 0xFDEF, r&0xFFFE == 0xFFFE: // noncharacters
		return true
	}
	return false
}
