package plan

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// This file holds the per-kind checks shared by Check (cells), OpFromBody
// (saved bodies) and Diff (live values). Each returns a message instead of
// an error: the message becomes Problem.Msg, a predicate of the quoted
// value, and the happy path allocates nothing.

// maxFracDigits is the most fractional-second digits Graph's
// Edm.DateTimeOffset keeps (100 ns ticks).
const maxFracDigits = 7

const (
	dateTimeExample = "write e.g. 2026-01-31T14:05:00Z or 2026-01-31T16:05:00+02:00"
	msgNotDateTime  = "is not an RFC 3339 date-time; " + dateTimeExample
	msgNotInt32     = "is not a 32-bit integer; write a decimal like -2016345060 or hex like 0x87D1041C"
	msgInt32Range   = "is outside the 32-bit range; write a decimal from -2147483648 to 2147483647 or hex from 0x0 to 0xFFFFFFFF"
	msgBlank        = "is only spaces; leave the cell empty to keep the current value"
	msgNotUTF8      = "is not valid UTF-8; save the file as UTF-8"
)

// isNullCell reports whether a cell is the <null> marker: case-insensitive,
// surrounding spaces ignored.
func isNullCell(s string) bool {
	if len(s) < len(nullCell) || s[0] != '<' && s[0] != ' ' && s[0] != '\t' && s[0] < utf8.RuneSelf {
		return false // the common case, decided without trimming
	}
	return strings.EqualFold(strings.TrimSpace(s), nullCell)
}

// msgNotNullable explains a <null> on a property that Graph requires.
func msgNotNullable(p *resource.Property) string {
	return "is not allowed: " + p.Name + " cannot be null; leave the cell empty to keep the current value"
}

// msgNUL explains a value with a NUL byte at byte offset i. Nothing
// checks for it downstream: Graph stores it as sent (\u0000), and tools
// that read the value later may cut it short there. In a CSV cell it is
// nearly always binary junk or a file in another encoding.
func msgNUL(s string, i int) string {
	return "contains a NUL byte (U+0000) at character " + strconv.Itoa(utf8.RuneCountInString(s[:i])+1) +
		"; no cell may hold one (a file with a NUL after every letter is UTF-16: save it as UTF-8)"
}

// parseCell turns one non-empty property cell into the Value to send, or
// says why it cannot.
func parseCell(p *resource.Property, cell string) (Value, string) {
	if i := strings.IndexByte(cell, 0); i >= 0 {
		return Value{}, msgNUL(cell, i)
	}
	if isNullCell(cell) {
		if p.Nullable {
			return Value{Intent: Clear}, ""
		}
		return Value{}, msgNotNullable(p)
	}
	if p.Kind == resource.String {
		// A string is data: sent exactly as written, spaces included.
		if !utf8.ValidString(cell) {
			return Value{}, msgNotUTF8
		}
		return Value{Intent: Set, Str: cell}, ""
	}
	s := strings.TrimSpace(cell)
	if s == "" {
		return Value{}, msgBlank
	}
	switch p.Kind {
	case resource.Enum:
		m, msg := parseEnum(p, s)
		if msg != "" {
			return Value{}, msg
		}
		return Value{Intent: Set, Str: m}, ""
	case resource.Int32:
		n, msg := parseInt32(s)
		if msg != "" {
			return Value{}, msg
		}
		return Value{Intent: Set, Int: n}, ""
	case resource.DateTime:
		if _, msg := parseDateTime(s, maxFracDigits); msg != "" {
			return Value{}, msg
		}
		return Value{Intent: Set, Str: s}, ""
	}
	return Value{}, msgUnknownKind
}

// msgUnknownKind is unreachable while every resource.Kind is handled.
const msgUnknownKind = "has a type bulkpatch does not know"

// parseEnum returns the member of p's enum that equals s ignoring case,
// in Graph's spelling.
func parseEnum(p *resource.Property, s string) (string, string) {
	members := p.Enum.Members
	// Most cells are spelled exactly; finding them by == allocates nothing,
	// where Enumeration.Canonical may lower-case first.
	for _, m := range members {
		if m == s {
			return m, ""
		}
	}
	if isASCII(s) {
		// Members are ASCII, so for ASCII input an ASCII case fold is the
		// same match Canonical makes, without its allocation.
		for _, m := range members {
			if equalFoldASCII(m, s) {
				return m, ""
			}
		}
		return "", msgNotMember(p, s)
	}
	if m, ok := p.Enum.Canonical(s); ok {
		return m, ""
	}
	return "", msgNotMember(p, s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// equalFoldASCII reports whether two ASCII strings are equal ignoring the
// case of A-Z.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// maxListedMembers is the most members a message lists in full; a longer
// enum is shown by three examples, because 36 names make an unreadable
// line.
const maxListedMembers = 10

// msgNotMember explains a value that is no member of p's enum, suggesting
// the nearest member.
func msgNotMember(p *resource.Property, s string) string {
	members := p.Enum.Members
	var b strings.Builder
	b.WriteString("is not a ")
	b.WriteString(p.Type())
	b.WriteString(" member")
	if c := resource.Closest(s, members); c != "" {
		b.WriteString("; did you mean ")
		b.WriteString(strconv.Quote(c))
		b.WriteString("?")
	}
	if n := len(members); n <= maxListedMembers {
		b.WriteString(" (accepted: ")
		b.WriteString(strings.Join(members, ", "))
		b.WriteString(")")
	} else {
		// The examples sit at the same fractions of any list: for the 36
		// of resultantAppStateDetail they are members 0, 14 and 22
		// (noAdditionalDetails, seeInstallErrorCode, pendingReboot). The
		// three are distinct for any n > 4.
		fmt.Fprintf(&b, " (%d members, e.g. %s, %s, %s; case does not matter)",
			n, members[0], members[n*14/36], members[n*22/36])
	}
	return b.String()
}

// parseInt32 parses an Int32 cell such as errorCode: a decimal int32
// with an optional sign, or 0x/0X and hex digits taken as a 32-bit two's
// complement pattern, the way Intune shows codes (0x87D1041C is
// -2016345060). Leading zeros are allowed in both forms.
func parseInt32(s string) (int32, string) {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		digits := strings.TrimLeft(s[2:], "0")
		for i := 0; i < len(digits); i++ {
			if !isHex(digits[i]) {
				return 0, msgNotInt32
			}
		}
		if len(digits) > 8 {
			return 0, msgInt32Range
		}
		if digits == "" {
			return 0, ""
		}
		u, err := strconv.ParseUint(digits, 16, 32)
		if err != nil {
			return 0, msgNotInt32 // unreachable: at most 8 hex digits
		}
		return int32(uint32(u)), ""
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, msgInt32Range
		}
		return 0, msgNotInt32
	}
	return int32(n), ""
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// instant is a point in time: seconds since the Unix epoch and
// nanoseconds within the second. It is comparable with ==.
type instant struct {
	sec  int64
	nsec int32
}

// Bounds of .NET's DateTimeOffset, which Graph uses: 0001-01-01T00:00:00Z
// to 9999-12-31T23:59:59.9999999Z.
const (
	minUnixSec = -62135596800
	maxUnixSec = 253402300799
)

// parseDateTime checks an RFC 3339 date-time as Graph takes it:
// YYYY-MM-DDTHH:MM:SS, up to maxFrac fractional digits, then Z or ±HH:MM
// (at most ±14:00). It is hand-written rather than time.Parse because
// time.Parse takes 9 fractional digits where Graph takes 7, and because it
// allocates for every offset other than Z. A maxFrac above 9 accepts any
// number of digits and ignores those beyond nanoseconds (for live values).
func parseDateTime(s string, maxFrac int) (instant, string) {
	if len(s) < 19 || !isDigits(s[0:4]) || s[4] != '-' || !isDigits(s[5:7]) || s[7] != '-' ||
		!isDigits(s[8:10]) || !isDigits(s[11:13]) || s[13] != ':' || !isDigits(s[14:16]) ||
		s[16] != ':' || !isDigits(s[17:19]) {
		return instant{}, msgNotDateTime
	}
	switch s[10] {
	case 'T':
	case 't', ' ':
		return instant{}, "separates date and time with " + strconv.QuoteRune(rune(s[10])) +
			"; write an upper-case T, e.g. 2026-01-31T14:05:00Z"
	default:
		return instant{}, msgNotDateTime
	}
	year, month, day := atoi(s[0:4]), atoi(s[5:7]), atoi(s[8:10])
	hour, minute, second := atoi(s[11:13]), atoi(s[14:16]), atoi(s[17:19])

	rest := s[19:]
	var nsec int32
	if rest != "" && rest[0] == '.' {
		n := 1
		for n < len(rest) && '0' <= rest[n] && rest[n] <= '9' {
			n++
		}
		digits := n - 1
		if digits == 0 {
			return instant{}, msgNotDateTime
		}
		if digits > maxFrac {
			return instant{}, "has " + strconv.Itoa(digits) + " fractional digits; Graph keeps at most 7 (100 ns)"
		}
		scale := int32(100_000_000)
		for i := 1; i < n && i <= 9; i++ {
			nsec += int32(rest[i]-'0') * scale
			scale /= 10
		}
		rest = rest[n:]
	}
	var offset int // seconds east of UTC
	switch {
	case rest == "":
		return instant{}, "has no offset; add Z for UTC or an offset like +02:00"
	case rest == "Z":
	case rest == "z":
		return instant{}, "writes the UTC designator in lower case; write an upper-case Z"
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && isDigits(rest[1:3]) && rest[3] == ':' && isDigits(rest[4:6]):
		oh, om := atoi(rest[1:3]), atoi(rest[4:6])
		if om > 59 || oh*60+om > 14*60 {
			return instant{}, "has the offset " + rest + "; offsets go from -14:00 to +14:00"
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return instant{}, msgNotDateTime
	}
	switch {
	case year == 0:
		return instant{}, "has the year 0000; the first year is 0001"
	case month < 1 || month > 12:
		return instant{}, "has no month " + s[5:7] + "; " + dateTimeExample
	case day < 1 || day > daysIn(year, month):
		return instant{}, "is not a date: " + s[0:7] + " has no day " + s[8:10]
	case hour > 23:
		return instant{}, "has the hour " + s[11:13] + "; hours go from 00 to 23"
	case minute > 59:
		return instant{}, "has the minute " + s[14:16] + "; minutes go from 00 to 59"
	case second > 59:
		return instant{}, "has the second " + s[17:19] + "; seconds go from 00 to 59"
	}
	sec := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+second) - int64(offset)
	if sec < minUnixSec || sec > maxUnixSec {
		return instant{}, "is outside the range Graph can store (years 0001 to 9999 in UTC)"
	}
	return instant{sec: sec, nsec: nsec}, ""
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atoi converts a string of ASCII digits already checked by isDigits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days from 1970-01-01 to the given proleptic
// Gregorian date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400 // y >= 0 here, so no floor correction is needed
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
