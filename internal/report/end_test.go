package report

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
)

func TestRunEndTell(t *testing.T) {
	tests := []struct {
		name        string
		end         RunEnd
		wantSummary bool // the text summary on stdout
		wantStopped bool // the "run stopped" event
	}{
		{"rows failed", RunEnd{ExitCode: 1}, true, false},
		{"quiet success", RunEnd{Quiet: true}, false, false},
		{"quiet failure", RunEnd{Quiet: true, ExitCode: 1}, true, false},
		{"stopped, text log", RunEnd{ExitCode: 6, Stopped: errors.New("stopped after --max-duration 1s")}, true, false},
		{"stopped, json log", RunEnd{ExitCode: 6, Stopped: errors.New("stopped after --max-duration 1s"), Events: NewLogger(new(bytes.Buffer), LogOptions{JSON: true})}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr, log bytes.Buffer
			end := tt.end
			end.Results = filepath.Join(t.TempDir(), "in.results.csv")
			end.Stdout, end.Stderr, end.Logger = &stdout, &stderr, NewLogger(&log, LogOptions{JSON: true})
			if end.Events != nil {
				end.Events = end.Logger
			}
			end.Tell(goldenSummary())
			if got := strings.Contains(stdout.String(), "Results: "+end.Results+"\n"); got != tt.wantSummary {
				t.Errorf("summary shown: %v, want %v\n%s", got, tt.wantSummary, stdout.String())
			}
			if !strings.Contains(log.String(), `"msg":"run finished"`) || !strings.Contains(log.String(), `"applied":240`) {
				t.Errorf("no run finished event with the counts:\n%s", log.String())
			}
			if got := strings.Contains(log.String(), `"msg":"run stopped","exit_code":6,"reason":"stopped after --max-duration 1s"`); got != tt.wantStopped {
				t.Errorf("run stopped event: %v, want %v\n%s", got, tt.wantStopped, log.String())
			}
			b, err := os.ReadFile(SummaryPath(end.Results))
			if err != nil {
				t.Fatal(err)
			}
			rs, err := ReadSummaryJSON(bytes.NewReader(b))
			if err != nil || rs.ExitCode != tt.end.ExitCode || rs.Applied != 240 {
				t.Errorf("summary.json: %+v, %v", rs, err)
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr: %s", stderr.String())
			}
		})
	}
}

func TestRunEndReport(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join(dir, "in.results.csv")
	if err := os.WriteFile(results, resultsBytes(t, hostileCols, csvio.WriterOptions{}, hostileReportRows()), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	RunEnd{Results: results, ExitCode: 1, Stdout: &stdout, Stderr: &stderr, Logger: NewLogger(new(bytes.Buffer), LogOptions{}),
		Report: &HTMLOptions{InputPath: filepath.Join(dir, "in.csv")}}.Tell(goldenSummary())
	if !strings.HasSuffix(stdout.String(), "Report: "+HTMLPath(results)+"\n") || stderr.Len() > 0 {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}

	// A report that must not be written is told on stderr; the run's
	// summary and summary.json are still there.
	stdout.Reset()
	RunEnd{Results: results, Stdout: &stdout, Stderr: &stderr, Logger: NewLogger(new(bytes.Buffer), LogOptions{}),
		Report: &HTMLOptions{InputPath: HTMLPath(results)}}.Tell(goldenSummary())
	if !strings.HasPrefix(stderr.String(), "bulkpatch: the run report: ") || strings.Contains(stdout.String(), "Report:") {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}
