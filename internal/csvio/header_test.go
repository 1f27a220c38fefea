package csvio

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRowType checks the struct gocsv fills: field i carries column i's
// positional tag, and the last field the blank cells.
func TestRowType(t *testing.T) {
	typ := rowType(3)
	for i := range 3 {
		if got := typ.Field(i).Tag.Get("csv"); got != fieldTag(i) {
			t.Errorf("field %d has tag %q, want %q", i, got, fieldTag(i))
		}
	}
	if got := typ.Field(3).Tag.Get("csv"); got != blankKey {
		t.Errorf("last field has tag %q, want %q", got, blankKey)
	}
	if rowType(3) != typ {
		t.Error("rowType(3) is not the same type twice")
	}
}

func TestColumnNamesMustDiffer(t *testing.T) {
	for _, cols := range [][]Column{
		{{Name: "a_b"}, {Name: "AB"}},
		{{Name: "x", Aliases: []string{"y"}}, {Name: "y"}},
		{{Name: "#x"}},
		{{Name: " "}},
	} {
		if _, err := NewReader(strings.NewReader("a\n"), ReaderOptions{Columns: cols}); err == nil {
			t.Errorf("columns %v: no error", cols)
		}
	}
	if _, err := NewReader(strings.NewReader("a\n"), ReaderOptions{}); err == nil {
		t.Error("no columns: no error")
	}
}

// TestUnknownColumnMessage: the message names what Suggest proposes, or
// every known column. (Which column is proposed is plan's business; see
// plan.SuggestColumn and its test.)
func TestUnknownColumnMessage(t *testing.T) {
	suggest := func(cell string) string {
		if cell == "instalState" {
			return "installState"
		}
		return ""
	}
	all := `line 1: unknown column "frobnicate"; known columns are ` + strings.Join(opts(ReaderOptions{}).names(), ", ") + ` (a header starting with # marks a comment column)`
	tests := []struct {
		cell    string
		suggest func(string) string
		want    string // the whole error message
	}{
		{"instalState", suggest, `line 1: unknown column "instalState"; did you mean "installState"?`},
		{"frobnicate", suggest, all},
		{"frobnicate", nil, all},
	}
	for _, tt := range tests {
		_, err := NewReader(strings.NewReader("mobileAppId,mobileAppInstallStatusId,"+tt.cell+"\n"), opts(ReaderOptions{Suggest: tt.suggest}))
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, ErrUnknownColumn) {
			t.Errorf("%q: error %v, want a *ParseError wrapping ErrUnknownColumn", tt.cell, err)
			continue
		}
		if pe.Column != tt.cell {
			t.Errorf("%q: Column = %q, want the header as written", tt.cell, pe.Column)
		}
		if got := err.Error(); got != tt.want {
			t.Errorf("%q: message\n%s\nwant\n%s", tt.cell, got, tt.want)
		}
	}
}

func TestHeaderAccessors(t *testing.T) {
	r, err := NewReader(strings.NewReader("\ufeffMobile App Id,#why, id ,,\n"), opts(ReaderOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"Mobile App Id", "#why", " id ", "", ""}
	if diff := cmp.Diff(wantHeader, r.Header()); diff != "" {
		t.Errorf("Header() (-want +got):\n%s", diff)
	}
	wantCols := []col{MobileAppID, MobileAppInstallStatusID}
	if diff := cmp.Diff(ints(wantCols), r.Columns()); diff != "" {
		t.Errorf("Columns() (-want +got):\n%s", diff)
	}
	// The slices are copies: changing them changes nothing inside.
	r.Header()[0], r.Columns()[0] = "x", int(DeviceName)
	if diff := cmp.Diff(wantHeader, r.Header()); diff != "" {
		t.Errorf("Header() after a caller's change (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ints(wantCols), r.Columns()); diff != "" {
		t.Errorf("Columns() after a caller's change (-want +got):\n%s", diff)
	}
}

func TestParseErrorMessage(t *testing.T) {
	long := strings.Repeat("é", 80) // 160 bytes
	tests := []struct {
		err  *ParseError
		want string
	}{
		{&ParseError{Line: 7, Column: "installState", Value: "x", Err: errors.New("not a state")},
			`line 7, column "installState": value "x": not a state`},
		{&ParseError{Line: 3, Err: ErrFieldCount}, `line 3: wrong number of fields`},
		{&ParseError{Line: 2, Column: "deviceName", Value: "a\xffb", Err: ErrInvalidUTF8},
			`line 2, column "deviceName": value "a\xffb": invalid UTF-8`},
		{&ParseError{Line: 1, Column: "mobileAppId", Err: ErrMissingColumn}, `line 1, column "mobileAppId": missing required column`},
		{&ParseError{Line: 5}, `line 5: invalid input`},
		{&ParseError{Line: 4, Column: "deviceName", Value: clip(long), Err: ErrInvalidUTF8},
			`line 4, column "deviceName": value "` + strings.Repeat("é", 50) + `...": invalid UTF-8`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() =\n%s\nwant\n%s", got, tt.want)
		}
	}
	pe := &ParseError{Line: 1, Err: ErrFieldCount}
	if !errors.Is(pe, ErrFieldCount) || errors.Unwrap(pe) != ErrFieldCount {
		t.Error("ParseError does not unwrap to its Err")
	}
}

func TestClip(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{strings.Repeat("a", 100), strings.Repeat("a", 100)},
		{strings.Repeat("a", 101), strings.Repeat("a", 100) + "..."},
		{"a" + strings.Repeat("€", 40), "a" + strings.Repeat("€", 33) + "..."}, // never half a rune
	}
	for _, tt := range tests {
		if got := clip(tt.in); got != tt.want {
			t.Errorf("clip(%d bytes) = %q, want %q", len(tt.in), got, tt.want)
		}
	}
}

// TestCommentCells: comment columns are carried beside their row, in
// file order, as written, and never checked (but, like all text, they
// must be in the file's encoding).
func TestCommentCells(t *testing.T) {
	in := "# note,mobileAppId,#owner,mobileAppInstallStatusId\n" +
		"first =1,a1,'=x Zoë,s1\n" +
		",a2,,s2\n"
	r, err := NewReader(strings.NewReader(in), opts(ReaderOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"# note", "#owner"}, r.Comments()); diff != "" {
		t.Errorf("Comments() (-want +got):\n%s", diff)
	}
	var rec Record
	for _, want := range [][]string{{"first =1", "'=x Zoë"}, {"", ""}} {
		if err := r.Read(&rec); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, rec.Comments); diff != "" {
			t.Errorf("line %d: Comments (-want +got):\n%s", rec.Line, diff)
		}
	}
}
