package plan

import (
	"fmt"
	"hash/maphash"
	"math"
	"strings"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// Validator checks the input rows of one resource one at a time and
// remembers which objects earlier rows addressed, to catch the same
// object twice. Use one Validator per input file, made by NewValidator:
// the zero Validator knows no resource and panics when used. The same
// Validator may read the file again (a later pass over the same lines):
// a row met again at the line it was first met on is not its own
// duplicate, and the pass adds nothing to what is remembered. It is not
// safe for concurrent use.
type Validator struct {
	res *resource.Resource
	// keyColumns names the key columns in a duplicate problem, e.g.
	// "mobileAppId/userAppInstallStatusId/mobileAppInstallStatusId".
	keyColumns string
	// seen maps the first 64 bits of a 96-bit hash of a row's key to the
	// row's line and the other 32 bits. Hashes rather than the ids keep
	// the memory flat however long the ids are: 16 bytes a row plus map
	// overhead, about 34 bytes a row at worst, just after the map grew
	// (a [2]uint64 key took 24 bytes and 50 at worst). At 96 bits a false
	// duplicate among even billions of rows is not a practical concern.
	seen map[uint64]seenRow
	// more holds the rare rows whose first 64 bits equal an earlier row's
	// while the other 32 differ, keyed by all 96.
	more         map[[2]uint64]int32
	seed1, seed2 maphash.Seed
	// forgot: Forget was called; rows are no longer remembered.
	forgot bool
}

// seenRow is what seen keeps of a row: its line and the hash bits that
// are not the map key.
type seenRow struct {
	line int32
	tag  uint32
}

// NewValidator returns a Validator for rows of res that has seen no rows.
// Its hash seeds are random, so hostile ids cannot be chosen to collide.
func NewValidator(res *resource.Resource) *Validator {
	return &Validator{
		res:        res,
		keyColumns: strings.Join(res.KeyNames(), "/"),
		seen:       make(map[uint64]seenRow),
		seed1:      maphash.MakeSeed(),
		seed2:      maphash.MakeSeed(),
	}
}

// mustResource returns the Validator's resource. The zero Validator has
// none: it panics saying what to do rather than with a nil dereference.
func (v *Validator) mustResource() *resource.Resource {
	if v.res == nil {
		panic("plan: the zero Validator is not valid; make one with NewValidator")
	}
	return v.res
}

// Check validates one row, a record read with Columns of the Validator's
// resource, and returns the operation it asks for and every problem found
// in it, in column order. The Op always carries the row's line and key,
// also when there are problems, so that a report can name the row; it
// must be sent only when there are no problems.
//
// Check also records the row's object: a later row with the same key,
// compared ignoring ASCII letter case as Graph compares ids, gets a
// problem naming this row's line.
func (v *Validator) Check(rec *csvio.Record) (Op, []Problem) {
	res := v.mustResource()
	if len(rec.Cells) != numCells(res) {
		panic(fmt.Sprintf("plan: a record of %d cells checked as %s, which has %d columns",
			len(rec.Cells), res.Name, numCells(res)))
	}
	op := Op{Line: rec.Line, Res: res, Key: KeyCells(res, rec)}
	probs := checkKeys(nil, &op)
	if len(probs) == 0 {
		probs = v.remember(probs, &op)
	}
	empty := true
	for i := range res.Properties {
		cell := PropCell(res, rec, i)
		if cell == "" {
			continue // Leave
		}
		empty = false
		p := &res.Properties[i]
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

// msgEmptyKey explains an empty cell in a key column every route needs.
const msgEmptyKey = "required, but the cell is empty"

// checkKeys appends a problem for each of op's keys that breaks the id
// rules (resource.CheckID, which also refuses NUL and every other control
// character), and for an empty required key.
func checkKeys(probs []Problem, op *Op) []Problem {
	for i, kc := range op.Res.Keys {
		id := op.Key[i]
		if id == "" {
			if op.Res.Required(i) {
				probs = append(probs, Problem{Line: op.Line, Column: kc.Name, Msg: msgEmptyKey})
			}
			continue
		}
		if msg := resource.CheckID(id); msg != "" {
			probs = append(probs, Problem{Line: op.Line, Column: kc.Name, Value: id, Msg: msg})
		}
	}
	return probs
}

// Forget drops what the Validator remembers of the rows it has seen and
// stops remembering: later rows are checked each on its own, without
// duplicate detection. It is for the later passes over an input that a
// whole pass found free of problems, duplicates included: the same bytes
// hold the same distinct objects (input proves they are the same bytes
// by their hash at the end of every pass), and a long run need not keep
// some 40 bytes a row for nothing.
func (v *Validator) Forget() {
	v.seen, v.more, v.forgot = nil, nil, true
}

// Remembered returns how many rows' objects the Validator remembers (for
// tests and memory figures).
func (v *Validator) Remembered() int { return len(v.seen) + len(v.more) }

// remember records op's object and adds a problem when an earlier row
// already addressed it.
func (v *Validator) remember(probs []Problem, op *Op) []Problem {
	if v.forgot {
		return probs
	}
	k, tag := v.hash(&op.Key)
	return v.rememberKey(probs, op, k, tag)
}

// rememberKey is remember for a row whose key hashes to k and tag.
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
	case prev.tag == tag && prev.line == int32(line):
		return probs // the same row, read again by a later pass
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
		if l == int32(line) {
			return probs // the same row, read again
		}
		prev.line = l
	}
	return append(probs, Problem{
		Line: op.Line, Column: v.keyColumns,
		Msg:       fmt.Sprintf("same object as line %d", prev.line),
		OtherLine: int(prev.line),
	})
}

// hash hashes a key for duplicate detection: 64 bits for the map key and
// 32 more, from a second seed, for the tag.
//
// ASCII letters are hashed in lower case: Graph compares ids without
// regard to case (GUIDs above all), so A1 and a1 are one object, and two
// concurrent PATCHes of it must not go out. Each id is preceded by its
// length, so that ids split differently, or an empty optional key (which
// selects another route), never hash alike. The folding goes through a
// buffer on the stack: no row allocates.
func (v *Validator) hash(k *resource.Key) (uint64, uint32) {
	var h1, h2 maphash.Hash
	h1.SetSeed(v.seed1)
	h2.SetSeed(v.seed2)
	var buf [64]byte
	for _, id := range k[:len(v.res.Keys)] {
		n := len(id)
		size := [4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
		h1.Write(size[:])
		h2.Write(size[:])
		for id != "" {
			c := copy(buf[:], id)
			lowerASCII(buf[:c])
			h1.Write(buf[:c])
			h2.Write(buf[:c])
			id = id[c:]
		}
	}
	return h1.Sum64(), uint32(h2.Sum64() >> 32)
}

// lowerASCII folds the ASCII upper-case letters of b to lower case in
// place. Other bytes, including those of non-ASCII letters, stay as they
// are: Graph's case-insensitive ids are ASCII.
func lowerASCII(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}
