package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// The journal, read for the run report. Package journal imports this
// one, so its reader cannot be used here; this reads the few fields the
// report needs from the same JSON lines (see journal's line type):
//
//	{"header":{"format":2,"input_sha256":"…","started_at":"…","pid":1}}
//	{"row":{"line":7,"outcome":"applied","http_status":204,"attempts":2,"duration_ns":…,"finished_at":"…",…}}
//	{"complete":{"at":"…"}}
//
// Every row record of every run is one settled row: a row failed in one
// run and applied in the next has two, and both runs' requests count.

type journalLine struct {
	Header *struct {
		Format    int       `json:"format"`
		StartedAt time.Time `json:"started_at"`
		PID       int       `json:"pid"`
	} `json:"header"`
	Row *struct {
		Line       int       `json:"line"`
		Outcome    Outcome   `json:"outcome"`
		HTTPStatus int       `json:"http_status"`
		Attempts   int       `json:"attempts"`
		DurationNS int64     `json:"duration_ns"`
		FinishedAt time.Time `json:"finished_at"`
	} `json:"row"`
	Complete *struct {
		At time.Time `json:"at"`
	} `json:"complete"`
}

// journalFormat is the journal format this reader knows (journal.Format).
const journalFormat = 2

// readJournal returns the runs a journal records, oldest first, and a note
// for the page when some of it could not be used. A line that is not a
// record (a torn last line after a kill, damage) is skipped and counted.
func readJournal(r io.Reader) ([]run, string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var (
		runs       []run
		bad, lines int
		otherFmt   int
	)
	for sc.Scan() {
		lines++
		var l journalLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			bad++
			continue
		}
		switch {
		case l.Header != nil:
			if l.Header.Format != journalFormat {
				otherFmt = l.Header.Format
			}
			runs = append(runs, run{start: l.Header.StartedAt, end: l.Header.StartedAt, pid: l.Header.PID})
		case l.Row != nil && len(runs) > 0:
			row := l.Row
			cur := &runs[len(runs)-1]
			if row.FinishedAt.After(cur.end) {
				cur.end = row.FinishedAt
			}
			ev, ok := eventOf(resultRow{line: row.Line, outcome: row.Outcome, status: row.HTTPStatus, attempts: row.Attempts,
				duration: time.Duration(row.DurationNS), finished: row.FinishedAt})
			if ok {
				if ev.start.Before(cur.start) {
					cur.start = ev.start
				}
				cur.events = append(cur.events, ev)
			}
		case l.Complete != nil && len(runs) > 0:
			if l.Complete.At.After(runs[len(runs)-1].end) {
				runs[len(runs)-1].end = l.Complete.At
			}
		default:
			bad++
		}
	}
	var note string
	switch {
	case sc.Err() != nil:
		note = fmt.Sprintf("The journal could be read only up to line %d (%v): the time line shows what came before.", lines, sc.Err())
	case otherFmt != 0:
		note = fmt.Sprintf("The journal has format %d; this report knows format %d and may misread it.", otherFmt, journalFormat)
	case bad > 0:
		note = fmt.Sprintf("Lines of the journal that are not records (a line torn by a kill is one) are left out: %d.", bad)
	}
	// A run that settled no row (stopped at once) has nothing to draw.
	kept := runs[:0]
	for _, r := range runs {
		if len(r.events) > 0 {
			kept = append(kept, r)
		}
	}
	return kept, note
}
