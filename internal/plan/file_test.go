package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/resource"
	"github.com/google/go-cmp/cmp"
)

var testHeader = Header{
	Format:      1,
	Tool:        "bulkpatch test",
	CreatedAt:   time.Date(2026, 1, 31, 14, 5, 0, 123456789, time.UTC),
	InputPath:   "/data/in <1>.csv",
	InputSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	GraphRoot:   "https://graph.microsoft.com/beta",
	Reconcile:   true,
	Columns:     []string{"installState", "errorCode"},
}

var testEntries = []Entry{
	{Line: 2, Key: resource.Key{"app", "", "st1"}, Action: ActionPatch,
		Body: raw(`{"installState":"installed"}`)},
	{Line: 3, Key: resource.Key{"app", "u1", "st2"}, Action: ActionUpdate,
		Body: raw(`{"installState":"installed","deviceName":"a<b>&\u2028"}`),
		Changes: []Change{{Property: "installState", Old: raw(`"failed"`), New: raw(`"installed"`)},
			{Property: "deviceName", Old: raw(`null`), New: raw(`"a<b>&\u2028"`)}}},
	{Line: 5, Key: resource.Key{"app", "", "st3"}, Action: ActionUnchanged,
		Body: raw(`{"errorCode":-1}`)},
}

func writePlan(t testing.TB, h Header, entries []Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	fw, err := NewFileWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := fw.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readPlan reads a whole plan file, returning what it got before an error.
func readPlan(data []byte) (Header, []Entry, Summary, error) {
	fr, err := NewFileReader(bytes.NewReader(data))
	if err != nil {
		return Header{}, nil, Summary{}, err
	}
	var got []Entry
	for {
		e, err := fr.Next()
		if err == io.EOF {
			return fr.Header(), got, fr.Summary(), nil
		}
		if err != nil {
			return fr.Header(), got, Summary{}, err
		}
		got = append(got, e)
	}
}

// compactEntries makes bodies comparable after the writer compacted them.
func compactEntries(t testing.TB, es []Entry) []Entry {
	t.Helper()
	out := make([]Entry, len(es))
	for i, e := range es {
		e.Body = compact(t, e.Body)
		var cs []Change
		for _, c := range e.Changes {
			cs = append(cs, Change{c.Property, compact(t, c.Old), compact(t, c.New)})
		}
		e.Changes = cs
		out[i] = e
	}
	return out
}

func compact(t testing.TB, b json.RawMessage) json.RawMessage {
	if b == nil {
		return raw("null") // what encoding/json writes for a nil RawMessage
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPlanFileRoundTrip(t *testing.T) {
	data := writePlan(t, testHeader, testEntries)
	h, got, sum, err := readPlan(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if d := cmp.Diff(testHeader, h); d != "" {
		t.Errorf("header (-want +got):\n%s", d)
	}
	if d := cmp.Diff(compactEntries(t, testEntries), got); d != "" {
		t.Errorf("entries (-want +got):\n%s", d)
	}
	if want := (Summary{Operations: 3, Patch: 1, Update: 1, Unchanged: 1}); sum != want {
		t.Errorf("summary = %+v, want %+v", sum, want)
	}
	// One entry per line, HTML characters left readable, valid JSON as a whole.
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2+len(testEntries) {
		t.Errorf("%d lines, want %d:\n%s", len(lines), 2+len(testEntries), data)
	}
	if !strings.Contains(string(data), `"deviceName":"a<b>&\u2028"`) {
		t.Errorf("body not kept readable:\n%s", data)
	}
	if !json.Valid(data) {
		t.Errorf("plan file is not valid JSON:\n%s", data)
	}
	// Bodies come back as OpFromBody accepts them.
	for _, e := range got {
		if _, probs := OpFromBody(res, e.Line, e.Key, e.Body); len(probs) != 0 {
			t.Errorf("line %d: %v", e.Line, probs)
		}
	}
}

func TestPlanFileEmpty(t *testing.T) {
	h := Header{Tool: "t"} // Format 0 means the current one; nil Columns
	data := writePlan(t, h, nil)
	gotH, got, sum, err := readPlan(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if gotH.Format != FormatVersion || gotH.Columns == nil || len(got) != 0 || sum != (Summary{}) {
		t.Errorf("empty plan read back as %+v, %v, %+v", gotH, got, sum)
	}
}

func TestPlanFileTruncated(t *testing.T) {
	data := writePlan(t, testHeader, testEntries)
	end := len(bytes.TrimRight(data, "\n"))
	for n := 0; n < end; n++ {
		_, got, _, err := readPlan(data[:n])
		if err == nil {
			t.Fatalf("a plan cut to %d of %d bytes reads without error (%d entries)", n, len(data), len(got))
		}
		if !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrFormat) {
			t.Errorf("cut to %d bytes: %v does not wrap ErrDamaged", n, err)
		}
	}
	// Cut between entries, the message says the file ends early.
	cut := bytes.Index(data, []byte("\n{\"line\":5"))
	_, got, _, err := readPlan(data[:cut])
	if len(got) != 2 || err == nil || !strings.Contains(err.Error(), "damaged plan file: the file ends early") {
		t.Errorf("cut after 2 entries: %d entries, %v", len(got), err)
	}
}

func TestPlanFileDamaged(t *testing.T) {
	good := string(writePlan(t, testHeader, testEntries))
	entry3 := ",\n" + `{"line":5,"mobileAppId":"app","mobileAppInstallStatusId":"st3","action":"unchanged","body":{"errorCode":-1}}`
	if !strings.Contains(good, entry3) {
		t.Fatalf("test assumes entry layout:\n%s", good)
	}
	tests := []struct {
		name    string
		data    string
		wantIs  error
		wantErr string
	}{
		{"not JSON", "mobileAppId,mobileAppInstallStatusId\n", ErrDamaged, "not a plan file (it does not start as JSON): invalid character"},
		{"empty", "", ErrDamaged, "damaged plan file: the file is empty"},
		{"an array", "[]", ErrDamaged, "not a plan file (it does not start with a JSON object)"},
		{"no operations", `{"format":1}`, ErrDamaged, "no operations"},
		{"newer format", strings.Replace(good, `"format":1`, `"format":2`, 1), ErrFormat, "format 2; this bulkpatch reads format 1"},
		{"no format", strings.Replace(good, `"format":1,`, ``, 1), ErrFormat, "no format field"},
		{"unknown header field", strings.Replace(good, `"format":1,`, `"format":1,"extra":true,`, 1), ErrDamaged, `unknown field "extra"`},
		{"unknown action", strings.Replace(good, `"action":"patch"`, `"action":"delete"`, 1), ErrDamaged, `unknown action "delete"`},
		{"body not an object", strings.Replace(good, `"body":{"errorCode":-1}`, `"body":"x"`, 1), ErrDamaged, "body is not a JSON object"},
		{"body missing", strings.Replace(good, `,"body":{"errorCode":-1}`, ``, 1), ErrDamaged, "body is not a JSON object"},
		{"no line", strings.Replace(good, `"line":5,`, ``, 1), ErrDamaged, "no valid line number"},
		{"unknown entry field", strings.Replace(good, `"line":5,`, `"line":5,"force":true,`, 1), ErrDamaged, `unknown field "force"`},
		{"a property as a key", strings.Replace(good, `"line":5,`, `"line":5,"deviceId":"x",`, 1), ErrDamaged, `unknown field "deviceId"`},
		{"unknown resource", strings.Replace(good, `"format":1,`, `"format":1,"resource":"printer",`, 1), ErrFormat,
			`unsupported plan file format: resource "printer"; this bulkpatch knows mobileAppInstallStatus, managedDevice, windowsAutopilotDeviceIdentity, deviceCategory`},
		{"resource not a string", strings.Replace(good, `"format":1,`, `"format":1,"resource":7,`, 1), ErrDamaged, `header`},
		{"column not a property", strings.Replace(good, `"errorCode"]`, `"mobileAppId"]`, 1), ErrDamaged,
			`header: column "mobileAppId" is not a property of mobileAppInstallStatus`},
		{"garbled entry", strings.Replace(good, `{"line":5`, `{"line":5"`, 1), ErrDamaged, "the operation after the one for line 3"},
		{"entry removed", strings.Replace(good, entry3, "", 1), ErrDamaged, "the summary counts 3 operations (1 patch, 1 update, 1 unchanged) but the file holds 2"},
		{"entry added", strings.Replace(good, entry3, entry3+entry3, 1), ErrDamaged, "but the file holds 4"},
		{"summary missing", strings.Replace(good, `,"summary":{"operations":3,"patch":1,"update":1,"unchanged":1}`, ``, 1), ErrDamaged, "the summary is missing"},
		{"data after the end", good + "{}", ErrDamaged, "data after the end"},
		{"unexpected key at the end", strings.Replace(good, `"summary"`, `"summery"`, 1), ErrDamaged, `unexpected summery`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := readPlan([]byte(tt.data))
			if err == nil {
				t.Fatalf("no error for\n%s", tt.data)
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestFileReaderStickyError(t *testing.T) {
	good := string(writePlan(t, testHeader, testEntries))
	fr, err := NewFileReader(strings.NewReader(strings.Replace(good, `"action":"update"`, `"action":"x"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fr.Next(); err != nil {
		t.Fatal(err)
	}
	_, err1 := fr.Next()
	_, err2 := fr.Next()
	if err1 == nil || err1 != err2 {
		t.Errorf("errors %v then %v, want the same error twice", err1, err2)
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestFileWriterErrors(t *testing.T) {
	if _, err := NewFileWriter(io.Discard, Header{Format: 2}); !errors.Is(err, ErrFormat) {
		t.Errorf("format 2: %v", err)
	}
	fw, err := NewFileWriter(io.Discard, testHeader)
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(Entry{Line: 2, Action: "delete", Body: raw(`{}`)}); err == nil {
		t.Error("unknown action accepted")
	}
	if err := fw.Write(Entry{Line: 2, Action: ActionPatch, Body: raw(`[1]`)}); err == nil {
		t.Error("non-object body accepted")
	}
	if err := fw.Write(Entry{Line: 2, Action: ActionPatch, Body: raw(`{"a":`)}); err == nil {
		t.Error("invalid body accepted")
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(testEntries[0]); err == nil {
		t.Error("Write after Close accepted")
	}
	if err := fw.Close(); err == nil {
		t.Error("second Close succeeded")
	}

	// A failing writer: the error surfaces (at the latest from Close), once
	// the buffer flushes.
	fw, err = NewFileWriter(&failWriter{n: 10}, testHeader)
	if err != nil {
		t.Fatal(err)
	}
	big := Entry{Line: 2, Key: resource.Key{"a", "", "s"}, Action: ActionPatch,
		Body: raw(`{"deviceName":"` + strings.Repeat("x", 10000) + `"}`)}
	werr := fw.Write(big)
	cerr := fw.Close()
	if werr == nil && cerr == nil {
		t.Error("a failing writer went unnoticed")
	}
}

// TestPlanFileFormat1 reads a plan file written before resources were
// declared (testdata/format1.json, by the bulkpatch of commit bb32e87)
// and writes the same plan byte for byte.
func TestPlanFileFormat1(t *testing.T) {
	golden, err := os.ReadFile("testdata/format1.json")
	if err != nil {
		t.Fatal(err)
	}
	fr, err := NewFileReader(bytes.NewReader(golden))
	if err != nil {
		t.Fatal(err)
	}
	if fr.Resource() != resource.Default() {
		t.Errorf("Resource() = %v, want the default", fr.Resource().Name)
	}
	h, got, _, err := readPlan(golden)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(testHeader, h); d != "" {
		t.Errorf("header (-want +got):\n%s", d)
	}
	if d := cmp.Diff(compactEntries(t, testEntries), got); d != "" {
		t.Errorf("entries (-want +got):\n%s", d)
	}
	if written := writePlan(t, testHeader, testEntries); !bytes.Equal(written, golden) {
		t.Errorf("written:\n%s\nformat 1 as written before:\n%s", written, golden)
	}
}

func TestPlanFileResource(t *testing.T) {
	h := testHeader
	h.Resource = "MOBILEAPPINSTALLSTATUS"
	data := writePlan(t, h, testEntries)
	if !bytes.HasPrefix(data, []byte(`{"format":1,"resource":"mobileAppInstallStatus","tool":`)) {
		t.Errorf("the resource is not written in its own spelling:\n%s", data)
	}
	fr, err := NewFileReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if fr.Resource() != resource.MobileAppInstallStatus || fr.Header().Resource != "mobileAppInstallStatus" {
		t.Errorf("Resource() = %s, header says %q", fr.Resource().Name, fr.Header().Resource)
	}
	if bytes.Contains(writePlan(t, testHeader, nil), []byte(`"resource"`)) {
		t.Error("an empty Resource is written")
	}

	h.Resource = "managedDevices"
	_, err = NewFileWriter(io.Discard, h)
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), `resource "managedDevices"`) {
		t.Errorf("unknown resource: %v", err)
	}
}

// TestEntryCodecs: every built-in resource's entries can be written and
// read back, an empty optional key left out, an empty required one kept.
func TestEntryCodecs(t *testing.T) {
	for _, r := range resource.All() {
		t.Run(r.Name, func(t *testing.T) {
			c := newEntryCodec(r)
			var full, sparse Entry
			for i := range r.Keys {
				full.Key[i] = "k" + strconv.Itoa(i)
			}
			for _, e := range []*Entry{&full, &sparse} {
				e.Line, e.Action, e.Body = 2, ActionPatch, raw(`{"a":1}`)
			}
			for _, e := range []Entry{full, sparse} {
				b, err := json.Marshal(c.value(&e))
				if err != nil {
					t.Fatal(err)
				}
				for i, k := range r.Keys {
					if has := bytes.Contains(b, []byte(`"`+k.Name+`":`)); has != (e.Key[i] != "" || r.Required(i)) {
						t.Errorf("%s in %s: %v", k.Name, b, has)
					}
				}
				v := c.new()
				if err := json.Unmarshal(b, v); err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(e, c.entry(v)); d != "" {
					t.Errorf("round trip through %s (-want +got):\n%s", b, d)
				}
			}
		})
	}
}

func TestPlainName(t *testing.T) {
	for name, want := range map[string]bool{
		"mobileAppId": true, "id": true, "x1": true,
		"": false, "line": false, "Action": false, "BODY": false, "changes": false,
		`a"b`: false, "a,b": false, "a b": false, "a`b": false,
	} {
		if got := plainName(name); got != want {
			t.Errorf("plainName(%q) = %v, want %v", name, got, want)
		}
	}
}
