package plan

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Problem is one reason an input row (or a saved PATCH body) cannot be
// sent. A row can have several; every one of them is reported before
// anything is sent.
type Problem struct {
	Line int // physical input line of the row
	// Column is the canonical name of the column at fault, e.g.
	// "errorCode"; several names joined by "/" when the problem concerns
	// their combination; "" when it concerns the row as a whole.
	Column string
	// Value is the offending cell exactly as found; "" when the problem is
	// not about one cell's content (an empty required cell, a duplicate).
	Value string
	// Msg says what is wrong and what would be accepted. When Value is set
	// it reads as a predicate of the quoted value ("is not a 32-bit
	// integer; ..."); otherwise it stands alone.
	Msg string
	// OtherLine is the earlier line that addresses the same object, for a
	// duplicate row; 0 otherwise.
	OtherLine int
}

// maxShownRunes bounds how much of a value a message quotes, so that a
// hostile multi-megabyte cell does not turn into a multi-megabyte line.
const maxShownRunes = 80

// Error returns the problem as one line naming the line, the column, the
// value and what would be accepted.
func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString("line ")
	b.WriteString(strconv.Itoa(p.Line))
	if p.Column != "" {
		if strings.Contains(p.Column, "/") {
			b.WriteString(", columns ")
		} else {
			b.WriteString(", column ")
		}
		b.WriteString(p.Column)
	}
	b.WriteString(": ")
	if p.Value != "" {
		b.WriteString(quoteShort(p.Value))
		b.WriteByte(' ')
	}
	b.WriteString(p.Msg)
	return b.String()
}

// quoteShort quotes s with %q rules, cut to maxShownRunes characters
// with a "…" after the closing quote when it was longer. The ellipsis
// sits outside the quotes so that it cannot be mistaken for part of the
// value.
func quoteShort(s string) string {
	n := 0
	for i := 0; i < len(s); n++ {
		if n == maxShownRunes {
			return strconv.Quote(s[:i]) + "…"
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return strconv.Quote(s)
}
