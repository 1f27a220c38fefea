package csvio

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Encoding names a character encoding of a CSV file. The zero value,
// AutoEncoding, detects it when reading and means UTF-8 when writing.
type Encoding string

// The encodings bulkpatch reads and writes. Spreadsheets write these:
// Excel's "CSV UTF-8" is UTF-8 with a byte order mark, its "CSV (Comma
// delimited)" is the Windows ANSI code page (Windows-1252 in Western
// locales), and its "Unicode Text" is UTF-16 little-endian with a byte
// order mark (and tabs).
const (
	// AutoEncoding reads UTF-8 with or without a byte order mark and
	// UTF-16 of either byte order with one; anything else is an error that
	// names the encoding to ask for.
	AutoEncoding Encoding = ""
	UTF8         Encoding = "utf-8"
	// UTF16 reads UTF-16 in the byte order its byte order mark gives or,
	// without one, the order the NUL bytes beside the header's letters
	// show. Writing, it means UTF16LE.
	UTF16       Encoding = "utf-16"
	UTF16LE     Encoding = "utf-16le"
	UTF16BE     Encoding = "utf-16be"
	Windows1252 Encoding = "windows-1252"
)

// ParseEncoding returns the Encoding a flag value names: auto, utf-8,
// utf-16, utf-16le, utf-16be or windows-1252, in any case, with the usual
// spellings without the dash (utf8, cp1252) accepted too.
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "auto", "":
		return AutoEncoding, nil
	case "utf-8", "utf8":
		return UTF8, nil
	case "utf-16", "utf16":
		return UTF16, nil
	case "utf-16le", "utf16le":
		return UTF16LE, nil
	case "utf-16be", "utf16be":
		return UTF16BE, nil
	case "windows-1252", "windows1252", "cp1252":
		return Windows1252, nil
	}
	return "", fmt.Errorf("unknown encoding %q: want auto, utf-8, utf-16, utf-16le, utf-16be or windows-1252", s)
}

// ParseDelimiter returns the delimiter a flag value names: "," or ";",
// or a tab as "tab", `\t` or itself; "" is 0, detect it. An error's
// message starts with the quoted value, for the caller to say where it
// came from ("--delimiter " + ...).
func ParseDelimiter(s string) (rune, error) {
	switch s {
	case "":
		return 0, nil
	case ",", ";":
		return rune(s[0]), nil
	case "tab", `\t`, "\t":
		return '\t', nil
	}
	return 0, fmt.Errorf("%q: want , ; or tab", s)
}

// String returns the flag spelling, "auto" for AutoEncoding.
func (e Encoding) String() string {
	if e == AutoEncoding {
		return "auto"
	}
	return string(e)
}

func (e Encoding) valid() bool {
	switch e {
	case AutoEncoding, UTF8, UTF16, UTF16LE, UTF16BE, Windows1252:
		return true
	}
	return false
}

// isUTF16 reports whether e is one of the UTF-16 encodings.
func (e Encoding) isUTF16() bool { return e == UTF16 || e == UTF16LE || e == UTF16BE }

// The byte order marks told apart. A UTF-32 one is recognised only to be
// refused by name: FF FE 00 00 would otherwise pass for UTF-16.
var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
	bomUTF32LE = []byte{0xFF, 0xFE, 0x00, 0x00}
	bomUTF32BE = []byte{0x00, 0x00, 0xFE, 0xFF}
)

// sniffSize is how much of the raw input is looked at for a byte order
// mark and for the NUL bytes of UTF-16 without one.
const sniffSize = 512

// decodeInput looks at the start of r for a byte order mark and, given
// what was asked for, returns r's text as UTF-8 (the mark consumed), the
// encoding found and whether a mark was there. A file that cannot be in
// the encoding asked for, or that auto cannot read, is a *ParseError on
// line 1 wrapping ErrEncoding that says what the file is and what to ask
// for instead.
func decodeInput(r io.Reader, want Encoding) (io.Reader, Encoding, bool, error) {
	raw := bufio.NewReaderSize(r, 4096) // r itself when it is a big enough *bufio.Reader
	head, _ := raw.Peek(4)              // an I/O error waits until the text is read
	if n := raw.Buffered(); n > len(head) {
		head, _ = raw.Peek(min(n, sniffSize))
	}
	var found Encoding
	bom := 0
	switch {
	case bytes.HasPrefix(head, bomUTF8):
		found, bom = UTF8, len(bomUTF8)
	case bytes.HasPrefix(head, bomUTF32LE), bytes.HasPrefix(head, bomUTF32BE):
		return nil, "", false, encodingProblem(1,
			"the file is UTF-32, which bulkpatch does not read; save it as UTF-8 (in Excel: CSV UTF-8)")
	case bytes.HasPrefix(head, bomUTF16LE):
		found, bom = UTF16LE, len(bomUTF16LE)
	case bytes.HasPrefix(head, bomUTF16BE):
		found, bom = UTF16BE, len(bomUTF16BE)
	}

	enc := want
	switch {
	case bom > 0 && (want == AutoEncoding || want == found || want == UTF16 && found.isUTF16()):
		enc = found
	case bom > 0:
		return nil, "", false, encodingProblem(1, fmt.Sprintf(
			"the file starts with a %s byte order mark, but --encoding %s was asked for: leave --encoding out (or say auto)",
			bomName(found), want))
	default:
		// No mark: a NUL beside every letter of the header is UTF-16
		// without one ("m\x00o\x00b\x00..."); nothing else puts NULs
		// there.
		order := utf16Order(head)
		switch {
		case !want.isUTF16() && order != "":
			return nil, "", false, encodingProblem(1, fmt.Sprintf(
				"the file looks like %s without a byte order mark (a NUL byte beside every letter of the header): "+
					"read it with --encoding utf-16, or save it as UTF-8 (in Excel: CSV UTF-8)", order.title()))
		case want == AutoEncoding:
			enc = UTF8
		case want.isUTF16() && order == "":
			return nil, "", false, encodingProblem(1, fmt.Sprintf(
				"--encoding %s was asked for, but the file has no UTF-16 byte order mark and no NUL bytes beside the letters of its header: it is not UTF-16", want))
		case want == UTF16:
			enc = order
		case want.isUTF16() && order != want:
			return nil, "", false, encodingProblem(1, fmt.Sprintf(
				"--encoding %s was asked for, but the file looks like %s (from the NUL bytes beside the letters of its header): say --encoding utf-16",
				want, order.title()))
		}
	}
	raw.Discard(bom)

	var dec transform.Transformer
	switch enc {
	case UTF16LE:
		dec = unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder()
	case UTF16BE:
		dec = unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewDecoder()
	case Windows1252:
		dec = charmap.Windows1252.NewDecoder()
	default:
		return raw, enc, bom > 0, nil
	}
	return transform.NewReader(raw, dec), enc, bom > 0, nil
}

// utf16Order guesses the byte order of UTF-16 text without a byte order
// mark from where the NUL bytes of its first line are: ASCII characters
// (the header's names) have a NUL high byte, after them in little-endian
// and before them in big-endian. It returns "" unless at least a quarter
// of the pairs show that NUL and the other side has at most an eighth as
// many (a character such as U+4E00 puts a NUL on the other side). Later
// lines are not looked at: a NUL in a cell of a UTF-8 file is a problem
// of that cell, not of the file's encoding.
func utf16Order(head []byte) Encoding {
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:min(len(head), i+2)] // the line end, and the NUL after it in little-endian
	}
	pairs := len(head) / 2
	if pairs < 2 {
		return ""
	}
	even, odd := 0, 0
	for i := 0; i+1 < len(head); i += 2 {
		if head[i] == 0 {
			even++
		}
		if head[i+1] == 0 {
			odd++
		}
	}
	switch {
	case odd*4 >= pairs && even*8 <= odd:
		return UTF16LE
	case even*4 >= pairs && odd*8 <= even:
		return UTF16BE
	}
	return ""
}

func bomName(e Encoding) string {
	if e == UTF8 {
		return "UTF-8"
	}
	return e.title()
}

// title is e's name in a sentence.
func (e Encoding) title() string {
	switch e {
	case UTF8:
		return "UTF-8"
	case UTF16:
		return "UTF-16"
	case UTF16LE:
		return "UTF-16 little-endian"
	case UTF16BE:
		return "UTF-16 big-endian"
	case Windows1252:
		return "Windows-1252"
	}
	return e.String()
}

// encodingError is an ErrEncoding problem. Its message stands alone: the
// sentinel's own text would only repeat it.
type encodingError struct{ msg string }

func (e *encodingError) Error() string { return e.msg }
func (e *encodingError) Unwrap() error { return ErrEncoding }

func encodingProblem(line int, msg string) *ParseError {
	return &ParseError{Line: line, Err: &encodingError{msg}}
}
