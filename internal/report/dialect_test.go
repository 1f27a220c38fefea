package report

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/plan"
	"github.com/bulkpatch/bulkpatch/internal/resource"
	"github.com/google/go-cmp/cmp"
)

// TestResultsInInputDialect is how the command layer writes results in
// the input's dialect: read the input, then report.Create with
// Reader.Dialect().WriterOptions(). The results must open like the input
// did: same delimiter, BOM, line ends, encoding and sep= line, with the
// comment columns beside their rows.
func TestResultsInInputDialect(t *testing.T) {
	const header = "mobileAppId;mobileAppInstallStatusId;deviceName;# note\r\n"
	tests := []struct {
		name  string
		input string
		enc   csvio.Encoding
		want  string // the results file, as bytes
	}{
		{
			name:  "Excel CSV UTF-8 in a ; locale",
			input: "\ufeff" + header + "app-1;st-1;Zoë;first =x\r\n",
			want: "\ufeffline;mobileAppId;userAppInstallStatusId;mobileAppInstallStatusId;outcome;http_status;error_code;error_message;attempts;request_id;client_request_id;duration_ms;finished_at;deviceName;# note\r\n" +
				"2;app-1;;st-1;applied;204;;;1;;;;;Zoë;first =x\r\n",
		},
		{
			name:  "Excel CSV (Comma delimited), Windows-1252, sep= line",
			input: "sep=;\r\n" + strings.ReplaceAll(header, "deviceName", "deviceName") + "app-1;st-1;Andr\xe9;caf\xe9\r\n",
			enc:   csvio.Windows1252,
			want: "sep=;\r\nline;mobileAppId;userAppInstallStatusId;mobileAppInstallStatusId;outcome;http_status;error_code;error_message;attempts;request_id;client_request_id;duration_ms;finished_at;deviceName;# note\r\n" +
				"3;app-1;;st-1;applied;204;;;1;;;;;Andr\xe9;caf\xe9\r\n",
		},
		{
			name:  "Excel Unicode Text: UTF-16LE, BOM, tabs",
			input: "\xff\xfe" + utf16le(strings.ReplaceAll(header+"app-1;st-1;日本;x\r\n", ";", "\t")),
			want: "\xff\xfe" + utf16le("line\tmobileAppId\tuserAppInstallStatusId\tmobileAppInstallStatusId\toutcome\thttp_status\terror_code\terror_message\tattempts\trequest_id\tclient_request_id\tduration_ms\tfinished_at\tdeviceName\t# note\r\n"+
				"2\tapp-1\t\tst-1\tapplied\t204\t\t\t1\t\t\t\t\t日本\tx\r\n"),
		},
	}
	res := resource.MobileAppInstallStatus
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := csvio.NewReader(strings.NewReader(tt.input), csvio.ReaderOptions{Columns: plan.Columns(res), Encoding: tt.enc})
			if err != nil {
				t.Fatal(err)
			}
			var rec csvio.Record
			if err := r.Read(&rec); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "in.results.csv")
			w, err := Create(path, Columns{Keys: res.KeyNames(), Props: []string{"deviceName"}, Comments: r.Comments()}, r.Dialect().WriterOptions())
			if err != nil {
				t.Fatal(err)
			}
			key := resource.Key{rec.Cells[0], rec.Cells[1], rec.Cells[2]}
			if err := w.Write(Row{Line: rec.Line, Key: key, Outcome: Applied, HTTPStatus: 204, Attempts: 1, Props: []string{rec.Cells[3]}, Comments: rec.Comments}); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("results file (-want +got):\n%s", diff)
			}
			// And the report reads it back.
			if err := WriteHTML(io.Discard, bytes.NewReader(got), nil, HTMLOptions{Encoding: tt.enc}); err != nil {
				t.Errorf("WriteHTML on the results: %v", err)
			}
		})
	}
}
