package csvio

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/schema"
	"github.com/google/go-cmp/cmp"
)

func TestColumnsMatchSchema(t *testing.T) {
	if got, want := NumColumns-int(FirstProperty), schema.NumProperties; got != want {
		t.Fatalf("%d property columns, schema has %d properties", got, want)
	}
	for i, p := range schema.Properties {
		if got := columnNames[int(FirstProperty)+i]; got != p.Name {
			t.Errorf("columnNames[FirstProperty+%d] = %q, want %q", i, got, p.Name)
		}
	}
}

// TestRowTags keeps csvRow, which gocsv fills, in step with the columns:
// field i carries column i's name.
func TestRowTags(t *testing.T) {
	typ := reflect.TypeFor[csvRow]()
	for c := range Column(NumColumns) {
		if got := typ.Field(int(c)).Tag.Get("csv"); got != c.String() {
			t.Errorf("csvRow field %d (%s) has tag %q, want %q", c, typ.Field(int(c)).Name, got, c.String())
		}
	}
	var row csvRow
	v := reflect.ValueOf(&row).Elem()
	for c := range Column(NumColumns) {
		v.Field(int(c)).SetString(c.String())
	}
	for c, s := range row.cells() {
		if s != Column(c).String() {
			t.Errorf("cells()[%d] = %q, want %q", c, s, Column(c).String())
		}
	}
}

func TestColumnString(t *testing.T) {
	for _, tt := range []struct {
		c    Column
		want string
	}{{MobileAppID, "mobileAppId"}, {DisplayVersion, "displayVersion"}, {-1, "column?"}, {NumColumns, "column?"}} {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("Column(%d).String() = %q, want %q", int(tt.c), got, tt.want)
		}
	}
}

func TestUnknownColumnMessage(t *testing.T) {
	tests := []struct {
		cell string
		want string // the whole error message
	}{
		{"instalState", `line 1: unknown column "instalState"; did you mean "installState"?`},
		{"install_state_details", `line 1: unknown column "install_state_details"; did you mean "installStateDetail"?`},
		{"User Principal", `line 1: unknown column "User Principal"; did you mean "userPrincipalName"?`},
		{"deviceStatus", `line 1: unknown column "deviceStatus"; did you mean "mobileAppInstallStatusId"?`},
		{"appIdd", `line 1: unknown column "appIdd"; did you mean "mobileAppId"?`},
		{"ip", `line 1: unknown column "ip"; known columns are ` + strings.Join(columnNames[:], ", ") + ` (a header starting with # marks a comment column)`},
		{"frobnicate", `line 1: unknown column "frobnicate"; known columns are ` + strings.Join(columnNames[:], ", ") + ` (a header starting with # marks a comment column)`},
	}
	for _, tt := range tests {
		_, err := NewReader(strings.NewReader("mobileAppId,mobileAppInstallStatusId,"+tt.cell+"\n"), ReaderOptions{})
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
	r, err := NewReader(strings.NewReader("\ufeffMobile App Id,#why, id ,,\n"), ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"Mobile App Id", "#why", " id ", "", ""}
	if diff := cmp.Diff(wantHeader, r.Header()); diff != "" {
		t.Errorf("Header() (-want +got):\n%s", diff)
	}
	wantCols := []Column{MobileAppID, MobileAppInstallStatusID}
	if diff := cmp.Diff(wantCols, r.Columns()); diff != "" {
		t.Errorf("Columns() (-want +got):\n%s", diff)
	}
	// The slices are copies: changing them changes nothing inside.
	r.Header()[0], r.Columns()[0] = "x", DeviceName
	if diff := cmp.Diff(wantHeader, r.Header()); diff != "" {
		t.Errorf("Header() after a caller's change (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantCols, r.Columns()); diff != "" {
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
