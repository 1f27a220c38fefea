package input

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bulkpatch/bulkpatch/internal/plan"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

const good = "mobileAppId,userAppInstallStatusId,mobileAppInstallStatusId,installState,errorCode,# note\n" +
	"a,,s1,installed,0x87D1041C,first\n" +
	"a,u,s2,FAILED,,second\n" +
	"a,,s3,,7,\n"

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func rows(t *testing.T, s *Source) []Row {
	t.Helper()
	var out []Row
	for r, err := range s.Rows() {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// checked opens content as an input with opt and checks it; it must be
// valid.
func checked(t *testing.T, content string, opt Options) (*Source, Stats) {
	t.Helper()
	s, err := Open(write(t, "in.csv", content), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	st, err := s.Check(func(msg string) { t.Errorf("problem: %s", msg) })
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

func TestCheckAndRows(t *testing.T) {
	s, st := checked(t, good, Options{})
	if st.Rows != 3 || st.BadRows != 0 || len(st.Collections) != 2 {
		t.Errorf("stats = %+v", st)
	}
	if want := (map[resource.Key]int{{"a", "", ""}: 2, {"a", "u", ""}: 1}); !cmp.Equal(want, st.Collections) {
		t.Errorf("collections = %v, want %v", st.Collections, want)
	}
	if len(s.SHA256) != 64 {
		t.Errorf("SHA256 = %q", s.SHA256)
	}
	if diff := cmp.Diff([]int{4, 6}, s.Props); diff != "" { // installState, errorCode
		t.Errorf("Props (-want +got):\n%s", diff)
	}
	got := rows(t, s)
	if len(got) != 3 {
		t.Fatalf("%d rows", len(got))
	}
	r := got[1]
	if r.Line != 3 || r.Key != (resource.Key{"a", "u", "s2"}) || string(r.Body) != `{"installState":"failed"}` {
		t.Errorf("row 2 = line %d key %q body %s", r.Line, r.Key, r.Body)
	}
	if diff := cmp.Diff([]string{"installed", "-2016345060"}, got[0].Cells); diff != "" {
		t.Errorf("cells of row 1, as sent (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"second"}, got[1].Comments); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
}

// TestCheckKeepsLittle: a clean check pass leaves the later passes
// nothing to remember (the Validator forgot its rows), and with
// SkipCollections counts no collections.
func TestCheckKeepsLittle(t *testing.T) {
	if n := plan.NewValidator(resource.Default()); n.Remembered() != 0 {
		t.Fatalf("a new Validator remembers %d rows", n.Remembered())
	}
	for _, skip := range []bool{false, true} {
		s, st := checked(t, good, Options{SkipCollections: skip})
		if got := st.Collections != nil; got == skip {
			t.Errorf("SkipCollections %v: Collections = %v", skip, st.Collections)
		}
		if n := s.v.Remembered(); n != 0 {
			t.Errorf("after a clean check the Validator remembers %d rows", n)
		}
		if n := len(rows(t, s)); n != 3 || s.v.Remembered() != 0 {
			t.Errorf("a later pass: %d rows, %d remembered; want 3, 0", n, s.v.Remembered())
		}
	}
}

func TestInvalidRows(t *testing.T) {
	in := "mobileAppId,mobileAppInstallStatusId,installState\n" +
		"a,s1,installed\n" +
		"a,s2,instaled\n" +
		"a,S1,failed\n" + // the same object as line 2: ids compare ignoring case
		"a,s4\n"
	s, err := Open(write(t, "in.csv", in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var msgs []string
	_, err = s.Check(func(m string) { msgs = append(msgs, m) })
	var ie *InvalidError
	if !errors.As(err, &ie) || ie.BadRows != 3 || ie.Rows != 4 {
		t.Fatalf("Check = %v, want an *InvalidError for 3 of 4 rows", err)
	}
	if len(msgs) != 3 {
		t.Errorf("%d problems, want 3: %q", len(msgs), msgs)
	}
	for _, want := range []string{`line 3, column installState: "instaled"`, "line 4", "same object as line 2", "line 5: wrong number of fields"} {
		if !strings.Contains(strings.Join(msgs, "\n"), want) {
			t.Errorf("problems %q lack %q", msgs, want)
		}
	}
	got := rows(t, s)
	if len(got[1].Problems) == 0 || got[1].Cells[0] != "instaled" {
		t.Errorf("an invalid row keeps its cells as written: %+v", got[1])
	}
}

func TestChangedInPlace(t *testing.T) {
	path := write(t, "in.csv", good)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Check(func(string) {}); err != nil {
		t.Fatal(err)
	}
	for range s.Rows() {
		break // a pass left unfinished changes nothing
	}
	if err := s.Verify(); err != nil {
		t.Fatalf("Verify of the unchanged file = %v", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("b"), int64(strings.Index(good, "\na,")+1))
	f.Close()
	var ce *ChangedError
	for _, err := range s.Rows() {
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("error %v, want a *ChangedError", err)
		}
	}
	if ce == nil {
		t.Error("a file changed in place went unnoticed")
	}
	if err := s.Verify(); !errors.As(err, &ce) {
		t.Errorf("Verify of the changed file = %v, want a *ChangedError", err)
	}
}

// TestTrailingBytes: blank lines after the last record are part of the
// file's hash once, however a pass reaches them.
func TestTrailingBytes(t *testing.T) {
	s, err := Open(write(t, "in.csv", good+"\n\n\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Check(func(string) {}); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, s); len(got) != 3 {
		t.Errorf("%d rows, want 3", len(got))
	}
	if err := s.Verify(); err != nil {
		t.Errorf("Verify = %v", err)
	}
}

func TestReplacedFileIsNotRead(t *testing.T) {
	path := write(t, "in.csv", good)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Check(func(string) {}); err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	if err := os.WriteFile(path, []byte("mobileAppId,id,deviceName\nz,z,z\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, s); len(got) != 3 || got[0].Key[0] != "a" {
		t.Errorf("read %d rows from the replacement", len(got))
	}
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(filepath.Join(dir, "missing.csv"), Options{})
	var fe *FileError
	if !errors.As(err, &fe) || !fe.Missing() {
		t.Errorf("missing file: %v", err)
	}
	_, err = Open(dir, Options{})
	if !errors.As(err, &fe) || fe.Missing() || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
	s, err := Open(write(t, "in.csv", "mobileAppId,nope\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Check(func(string) {}); !errors.As(err, &fe) || fe.Missing() {
		t.Errorf("bad header: %v, want a *FileError", err)
	}
}

func TestMaxRows(t *testing.T) {
	s, err := Open(write(t, "in.csv", good), Options{MaxRows: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Check(func(string) {})
	var fe *FileError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "--max-rows 2") {
		t.Errorf("Check = %v", err)
	}
}

func TestPlanSource(t *testing.T) {
	in := write(t, "in.csv", good)
	s, err := Open(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Check(func(string) {}); err != nil {
		t.Fatal(err)
	}
	planPath := filepath.Join(filepath.Dir(in), "p.json")
	f, err := os.Create(planPath)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := plan.NewFileWriter(f, plan.Header{InputPath: in, InputSHA256: s.SHA256, Columns: []string{"installState"}})
	if err != nil {
		t.Fatal(err)
	}
	for r := range s.Rows() {
		action := plan.ActionPatch
		if r.Line == 3 {
			action = plan.ActionUnchanged
		}
		fw.Write(plan.Entry{Line: r.Line, Key: r.Key, Action: action, Body: r.Body})
	}
	fw.Close()
	f.Close()
	s.Close()

	ps, err := OpenPlan(planPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	if st, err := ps.Check(func(m string) { t.Error(m) }); err != nil || st.Rows != 3 {
		t.Fatalf("Check = %+v, %v", st, err)
	}
	got := rows(t, ps)
	if got[1].Action != plan.ActionUnchanged || got[0].Action != "" || ps.Path != in || ps.SHA256 != s.SHA256 {
		t.Errorf("plan rows = %+v", got)
	}
	// The input changed since: the plan is stale.
	os.WriteFile(in, []byte(good+"a,,s9,installed,,\n"), 0o600)
	var se *StalePlanError
	if _, err := OpenPlan(planPath); !errors.As(err, &se) {
		t.Errorf("OpenPlan after the input changed = %v, want a *StalePlanError", err)
	}
}

// TestInferResource: without --resource, the header says which resource
// the rows describe, when exactly one fits.
func TestInferResource(t *testing.T) {
	for _, tt := range []struct {
		header, want, wantErr string
	}{
		{"mobileAppId,mobileAppInstallStatusId,installState", "mobileAppInstallStatus", ""},
		{"appId,id,errorCode", "mobileAppInstallStatus", ""},
		{"id,notes,ownerType", "managedDevice", ""},
		{"managedDeviceId,managedDeviceName", "managedDevice", ""},
		{"id,groupTag", "windowsAutopilotDeviceIdentity", ""},
		{"id,description", "deviceCategory", ""},
		{"mobileAppId,instalState", "mobileAppInstallStatus", ""}, // its own problems follow
		{"id,displayName", "", "fits more than one resource (windowsAutopilotDeviceIdentity, deviceCategory)"},
		{"serial,owner", "", "names the key columns of no resource"},
		// A misspelt column: the resource that knows the other columns.
		{"id,managedDeviceName,ownerTyp,notes", "managedDevice", ""},
		{"id,displayNam,groupTag", "windowsAutopilotDeviceIdentity", ""},
		{"categoryId,displayName,descripton", "deviceCategory", ""},
		// Only "id" is known to all: still for --resource to say.
		{"id,displayNam", "", "fits more than one resource (mobileAppInstallStatus, managedDevice, windowsAutopilotDeviceIdentity, deviceCategory)"},
		{"id,displayName,descripton,groupTg", "", "fits more than one resource (windowsAutopilotDeviceIdentity, deviceCategory)"},
	} {
		s, err := Open(write(t, "in.csv", tt.header+"\n"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Check(func(string) {})
		s.Close()
		var ae *AmbiguousError
		var fe *FileError
		switch {
		case tt.wantErr != "":
			// A *FileError, as every unusable header is: exit 3, nothing sent.
			if !errors.As(err, &ae) || !errors.As(err, &fe) || fe.Missing() || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: Check = %v (%T), want a *FileError saying %q", tt.header, err, err, tt.wantErr)
			}
		case s.Res == nil || s.Res.Name != tt.want:
			t.Errorf("%s: resource %v (%v), want %s", tt.header, s.Res, err, tt.want)
		}
	}
}

func TestWritePlan(t *testing.T) {
	s, err := Open(write(t, "in.csv", good), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Check(func(msg string) { t.Errorf("problem: %s", msg) }); err != nil {
		t.Fatal(err)
	}
	var shown strings.Builder
	out := &plan.Output{W: &shown}
	if err := s.WritePlan(out, "test", "https://graph.example/beta"); err != nil {
		t.Fatal(err)
	}
	if out.Counts.Patch != 3 || !strings.Contains(shown.String(), "s1") {
		t.Errorf("counts %+v, shown:\n%s", out.Counts, shown.String())
	}
}

func TestReconciles(t *testing.T) {
	for _, tt := range []struct {
		s    *Source
		want bool
	}{
		{&Source{}, true}, // a CSV
		{&Source{Plan: &plan.Header{}}, false},
		{&Source{Plan: &plan.Header{Reconcile: true}}, true},
	} {
		if got := tt.s.Reconciles(); got != tt.want {
			t.Errorf("plan %+v: Reconciles() = %v, want %v", tt.s.Plan, got, tt.want)
		}
	}
}
