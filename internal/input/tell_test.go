package input

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

func TestOpenChecked(t *testing.T) {
	dir := t.TempDir()
	bad := write(t, "bad.csv", "mobileAppId,mobileAppInstallStatusId,installState\na,s1,sideways\n")
	noHeader := write(t, "noheader.csv", "what,is,this\n1,2,3\n")
	tests := []struct {
		name      string
		path      string
		opt       Options
		want      string // what w says, "" for nothing
		explained bool
		invalid   bool
		open      bool // the source comes back open
	}{
		{"valid", write(t, "in.csv", good), Options{}, "", false, false, true},
		{"stdin", "-", Options{Stdin: strings.NewReader(good)}, "", false, false, true},
		{"invalid", bad, Options{}, bad + ": line 2, column installState", false, true, true},
		{"missing", filepath.Join(dir, "missing.csv"), Options{}, "", false, false, false},
		{"directory", dir, Options{}, dir + ": " + dir + " is a directory, not a CSV file\nbulkpatch: " + dir + " cannot be used as input; nothing was sent\n", true, false, false},
		{"no known header", noHeader, Options{Resource: resource.Default()}, noHeader + ": ", true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w strings.Builder
			src, st, err := OpenChecked(tt.path, tt.opt, &w)
			if src != nil {
				defer src.Close()
			}
			if got := w.String(); tt.want == "" && got != "" || !strings.HasPrefix(got, tt.want) {
				t.Errorf("told %q, want %q", got, tt.want)
			}
			if got := errors.As(err, new(*ExplainedError)); got != tt.explained {
				t.Errorf("error %v: explained %v, want %v", err, got, tt.explained)
			}
			if got := errors.As(err, new(*InvalidError)); got != tt.invalid {
				t.Errorf("error %v: invalid %v, want %v", err, got, tt.invalid)
			}
			if (src != nil) != tt.open {
				t.Errorf("source open: %v, want %v", src != nil, tt.open)
			}
			if tt.name == "valid" || tt.name == "stdin" {
				if err != nil || st.Rows != 3 {
					t.Errorf("%d rows, %v", st.Rows, err)
				}
			}
		})
	}
}

func TestExplainLeavesOtherErrors(t *testing.T) {
	var w strings.Builder
	for _, err := range []error{
		errors.New("not a file error"),
		&FileError{Path: "x.csv", Err: &os.PathError{Op: "open", Path: "x.csv", Err: os.ErrNotExist}},
	} {
		if got := Explain(&w, "x.csv", err); got != err {
			t.Errorf("Explain(%v) = %v, want it unchanged", err, got)
		}
	}
	if w.Len() > 0 {
		t.Errorf("told %q", w.String())
	}
}
