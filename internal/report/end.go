package report

import (
	"fmt"
	"io"
	"log/slog"
)

// RunEnd says how a finished run ended, once its results file is written,
// and where to tell it.
type RunEnd struct {
	Results  string // the results file
	ExitCode int    // the code the command exits with; 0: all went well
	// Stopped is the error that stopped the run early (its message says
	// why); nil when it ran to the end.
	Stopped error
	// Quiet (--quiet) leaves out what a run that went well would print:
	// the summary and the report's name.
	Quiet          bool
	Stdout, Stderr io.Writer
	// Logger receives the "run finished" event; Events, when not nil (a
	// JSON log), also receives "run stopped".
	Logger, Events *slog.Logger
	// Report, when not nil, has the run report written too (apply
	// --report), with these options; Tell sets its Summary.
	Report *HTMLOptions
}

// Tell tells how the run s counted ended: the summary for people and the
// name of the results file on Stdout, the log events, the summary.json
// beside the results (SummaryPath), for scripts, and with Report the HTML
// run report. A file it cannot write is told on Stderr: the results file
// is the record. s's request counts must be set (see RunSummary).
func (e RunEnd) Tell(s *Summary) {
	if !e.Quiet || e.ExitCode != 0 {
		s.WriteText(e.Stdout)
		fmt.Fprintf(e.Stdout, "Results: %s\n", e.Results)
	}
	e.Logger.Info("run finished", append(append([]any{"results", e.Results, "elapsed_ms", s.Elapsed.Milliseconds()},
		s.Attrs()...), "exit_code", e.ExitCode)...)
	if e.Stopped != nil && e.Events != nil {
		e.Events.Error("run stopped", "exit_code", e.ExitCode, "reason", e.Stopped.Error())
	}
	rs := s.RunSummary(RunInfo{Results: e.Results, ExitCode: e.ExitCode})
	if err := WriteSummaryJSON(SummaryPath(e.Results), rs); err != nil {
		fmt.Fprintf(e.Stderr, "bulkpatch: %v\n", err)
	}
	if e.Report == nil {
		return
	}
	opt := *e.Report
	opt.Summary = &rs
	out, err := WriteReport(e.Results, "", opt)
	if err != nil {
		fmt.Fprintf(e.Stderr, "bulkpatch: the run report: %v\n", err)
	} else if !e.Quiet {
		fmt.Fprintf(e.Stdout, "Report: %s\n", out.HTML)
	}
}
