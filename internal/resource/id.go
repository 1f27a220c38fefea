package resource

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxIDBytes bounds an id. Intune ids are GUIDs or GUID pairs (under 100
// bytes); anything much longer is a wrong column.
const maxIDBytes = 256

// idRule is the tail of every id message: what an id may be.
const idRule = "; ids may not contain / \\ ? # %, whitespace, control or invisible characters, or look-alikes of / \\ ? # % ."

// CheckID says what is wrong with a non-empty id, or "" when it is
// acceptable. The message reads as a predicate of the id ("contains
// ..."). Ids are opaque
// and path-escaped anyway, but a character that a proxy, a log or a
// Unicode normaliser could turn into a path separator, a query, a
// fragment, an escape or a dot segment has no business in one, and an
// invisible one makes two different ids look the same to the admin.
func CheckID(s string) string {
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

// checkIDRunes is CheckID's full check of every character.
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

// idASCII marks the bytes that CheckID's fast path accepts: printable
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
