package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/plan"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// TestBrowserRunsNothing opens run reports in headless Chromium: one made
// from a hostile results file (formula cells, <script> in an error
// message, right-to-left overrides, markup in every column) and one of a
// realistic run. For each it dumps the DOM Chromium built after loading
// the page and takes a screenshot, and checks that nothing executed and
// nothing was parsed as markup: no attribute a script would set, the
// same elements as the page we wrote, none outside the page's own kinds,
// and the hostile strings present as text. A page that does run a
// script, made beside it, must show it (the check is not vacuous).
//
// It runs only with BULKPATCH_BROWSER=1 (make browser-check installs
// Chromium and sets it). BULKPATCH_BROWSER_OUT keeps the pages and
// screenshots in a directory; BULKPATCH_CHROMIUM names the browser.
func TestBrowserRunsNothing(t *testing.T) {
	if os.Getenv("BULKPATCH_BROWSER") == "" {
		t.Skip("set BULKPATCH_BROWSER=1 (make browser-check) to open reports in headless Chromium")
	}
	browser := os.Getenv("BULKPATCH_CHROMIUM")
	if browser == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				browser = p
				break
			}
		}
	}
	if browser == "" {
		t.Fatal("no chromium on PATH (set BULKPATCH_CHROMIUM)")
	}
	out := os.Getenv("BULKPATCH_BROWSER_OUT")
	if out == "" {
		out = t.TempDir()
	} else if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	out, _ = filepath.Abs(out)

	// The positive control: the same kind of page with a script that
	// runs (no CSP, the script as markup). If its mark does not show in
	// the dumped DOM, the checks below prove nothing.
	control := filepath.Join(out, "control.html")
	os.WriteFile(control, []byte(`<!DOCTYPE html><html><head><title>control</title></head><body><p>x</p>`+
		`<script>document.documentElement.setAttribute("data-pwned","1");document.title="pwned"</script></body></html>`), 0o600)
	if dom := dumpDOM(t, browser, control); !ran(t, dom) {
		t.Fatalf("the control page's script left no mark in the dumped DOM: the check cannot see scripts run\n%s", dom)
	}

	hostile := filepath.Join(out, "hostile.results.csv")
	rows := hostileReportRows()
	os.WriteFile(hostile, resultsBytes(t, hostileCols, csvio.WriterOptions{Comma: ';', BOM: true, UseCRLF: true}, rows), 0o600)
	os.WriteFile(JournalPath(hostile), journalBytes(t, rows), 0o600)
	sum := RunSummary{Format: 1, Results: hostile, ExitCode: 1, Throttled: 4, Writes: 16, Reads: 1}
	WriteSummaryJSON(SummaryPath(hostile), sum)
	checkInBrowser(t, browser, hostile, HTMLOptions{Title: scriptTag + rtl, InputPath: filepath.Join(out, "in "+rtl+".csv"), Resource: imgTag, Rate: 5},
		[]string{scriptTag, imgTag, svgTag, "invoice⟨U+202E⟩fdp.exe", styleBreak, `'=HYPERLINK("http://evil`})

	run := filepath.Join(out, "run.results.csv")
	runRows, planBytes := realisticRun()
	cols := Columns{Keys: resource.MobileAppInstallStatus.KeyNames(), Props: []string{"deviceName", "installState", "installStateDetail", "errorCode"}, Comments: []string{"# ticket"}}
	os.WriteFile(run, resultsBytes(t, cols, csvio.WriterOptions{Comma: ';', BOM: true, UseCRLF: true}, runRows), 0o600)
	os.WriteFile(JournalPath(run), journalBytes(t, runRows), 0o600)
	var s Summary
	for _, r := range runRows {
		s.Add(r)
		if r.Outcome == Applied || r.Outcome == Failed {
			s.Writes += int64(r.Attempts)
		}
	}
	s.Reads, s.Throttled, s.Elapsed = 1210, 31, 4*time.Minute+12*time.Second
	WriteSummaryJSON(SummaryPath(run), s.RunSummary(RunInfo{Results: run, ExitCode: 1}))
	checkInBrowser(t, browser, run, HTMLOptions{InputPath: filepath.Join(out, "run.csv"), Rate: 5, Plan: bytes.NewReader(planBytes)},
		[]string{"failed → installed", "ResourceNotFound"})
}

// checkInBrowser writes the report of the results file at results, opens
// it in the browser and checks what it built; want are strings the page
// must show as text.
func checkInBrowser(t *testing.T, browser, results string, opt HTMLOptions, want []string) {
	t.Helper()
	files, err := WriteReport(results, "", opt)
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(files.HTML)
	if err != nil {
		t.Fatal(err)
	}
	dom := dumpDOM(t, browser, files.HTML)
	name := filepath.Base(files.HTML)
	if ran(t, dom) {
		t.Errorf("%s: a script ran: the dumped DOM carries its mark", name)
	}
	if !strings.Contains(dom, "<title>bulkpatch run report") {
		t.Errorf("%s: the title changed", name)
	}
	// The browser's DOM must have exactly the elements our own parse of
	// the file has: anything more came from data parsed as markup.
	mine, theirs := elementCounts(t, page), elementCounts(t, []byte(dom))
	if fmt.Sprint(mine) != fmt.Sprint(theirs) {
		t.Errorf("%s: the browser built other elements than the page has\npage:    %v\nbrowser: %v", name, mine, theirs)
	}
	for el := range theirs {
		if !allowedElements[el] {
			t.Errorf("%s: element <%s> in the browser's DOM", name, el)
		}
	}
	checkPageSafe(t, []byte(dom))
	text := pageText(t, []byte(dom))
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s: the browser shows no text %q", name, w)
		}
	}
	png := strings.TrimSuffix(files.HTML, ".html") + ".png"
	screenshot(t, browser, files.HTML, png)
	t.Logf("%s: %d elements, nothing ran; screenshot %s", name, total(theirs), png)
}

// ran reports whether the hostile scripts' mark is in a dumped DOM: the
// data-pwned attribute they set on the root element, or the title they
// set. The same words as text, shown by the page, are no mark.
func ran(t *testing.T, dom string) bool {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				if a.Key == "data-pwned" {
					found = true
				}
			}
			if n.Data == "title" && n.FirstChild != nil && n.FirstChild.Data == "pwned" {
				found = true
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return found
}

// chromiumFlags are what headless Chromium needs here: no sandbox (root),
// no GPU, and no background networking, which this machine's closed
// network would refuse many times a second.
func chromiumFlags(t *testing.T) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
}

func dumpDOM(t *testing.T, browser, page string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, append(chromiumFlags(t), "--dump-dom", "file://"+page)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil || len(dom) == 0 {
		t.Fatalf("%s --dump-dom %s: %v\n%s", browser, page, err, tail(stderr.String()))
	}
	return string(dom)
}

func screenshot(t *testing.T, browser, page, png string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, append(chromiumFlags(t), "--window-size=1280,3200", "--screenshot="+png, "file://"+page)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s --screenshot: %v\n%s", browser, err, tail(string(b)))
	}
	b, err := os.ReadFile(png)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 10<<10 {
		t.Fatalf("screenshot %s: %d bytes, %v; want a PNG", png, len(b), err)
	}
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-15):], "\n")
}

// elementCounts counts the elements of a parsed HTML document by name.
func elementCounts(t *testing.T, page []byte) map[string]int {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			counts[n.Data]++
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return counts
}

func total(m map[string]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// realisticRun makes the rows of a run of 1,300 rows at the paced 4.9
// writes/s: mostly applied, some unchanged, retries here and there, a
// burst of 429s, a few failures of a few kinds, invalid rows, and the
// rows left when --max-duration stopped it; and the saved reconciled plan
// it applied, for the transitions.
func realisticRun() ([]Row, []byte) {
	rng := rand.New(rand.NewPCG(12, 2026))
	t0 := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	states := []string{"installed", "installed", "installed", "failed", "pendingInstall"}
	var rows []Row
	var pb bytes.Buffer
	fw, _ := plan.NewFileWriter(&pb, plan.Header{Tool: "bulkpatch test", Reconcile: true, Columns: []string{"deviceName", "installState", "installStateDetail", "errorCode"}})
	at := t0
	for i := range 1300 {
		line := i + 2
		state := states[rng.IntN(len(states))]
		detail := map[string]string{"installed": "noAdditionalDetails", "failed": "seeInstallErrorCode", "pendingInstall": "pendingReboot"}[state]
		code := "0"
		if state == "failed" {
			code = "-2016345060"
		}
		r := Row{Line: line, Key: resource.Key{"6513270e-8b0f-4a8e-9d1c-3f0b5c1e2a77", "", fmt.Sprintf("st-%05d", i)},
			Outcome: Applied, HTTPStatus: 204, Attempts: 1, RequestID: fmt.Sprintf("%08x-req", rng.Uint32()),
			Props: []string{fmt.Sprintf("DESKTOP-%05d", i), state, detail, code}, Comments: []string{fmt.Sprintf("CHG%06d", 4000+i/50)}}
		r.Duration = time.Duration(150+rng.IntN(250)) * time.Millisecond
		switch {
		case i%7 == 3:
			r.Outcome, r.HTTPStatus = Unchanged, 200
		case i >= 520 && i < 560: // a burst of throttling
			r.Attempts = 2 + rng.IntN(3)
			r.Duration += time.Duration(r.Attempts-1) * 6 * time.Second
			if i%9 == 0 {
				r.Outcome, r.HTTPStatus, r.ErrorCode, r.ErrorMessage, r.Attempts = Failed, 429, "TooManyRequests", "Too many requests. Retry after 6 seconds.", 11
			}
		case rng.IntN(60) == 0:
			r.Attempts = 2
			r.Duration += 2 * time.Second
		case i%97 == 5:
			r.Outcome, r.HTTPStatus, r.ErrorCode, r.ErrorMessage = Failed, 404, "ResourceNotFound", "The requested resource does not exist."
		case i == 640 || i == 641:
			r.Outcome, r.HTTPStatus, r.ErrorCode, r.ErrorMessage = Failed, 403, "Forbidden", "Application is not authorized to perform this operation. Application must have one of the following scopes: DeviceManagementApps.ReadWrite.All"
		case i == 900:
			r.Outcome, r.HTTPStatus, r.ErrorCode, r.ErrorMessage, r.Attempts, r.Duration = Failed, 0, "timeout", "no answer after 11 attempts: context deadline exceeded", 11, 10*time.Minute/8
		case i%211 == 17:
			r = Row{Line: line, Key: r.Key, Outcome: Invalid, ErrorMessage: fmt.Sprintf(`line %d, column errorCode: "0xZZ" is not a decimal int32 or 0x hex`, line), Props: []string{r.Props[0], state, detail, "0xZZ"}, Comments: r.Comments}
		}
		if i >= 1240 {
			r = Row{Line: line, Key: r.Key, Outcome: NotAttempted, Props: r.Props, Comments: r.Comments}
		}
		if r.Outcome != Invalid && r.Outcome != NotAttempted {
			at = at.Add(time.Second * 10 / 49 * time.Duration(r.Attempts))
			r.FinishedAt = at.Add(r.Duration)
		}
		rows = append(rows, r)
		if r.Outcome != Invalid {
			old := map[string]string{"installed": "failed", "failed": "pendingInstall", "pendingInstall": "notInstalled"}[state]
			oj, _ := json.Marshal(old)
			nj, _ := json.Marshal(state)
			fw.Write(plan.Entry{Line: line, Key: r.Key, Action: plan.ActionUpdate, Body: []byte(`{}`),
				Changes: []plan.Change{{Property: "installState", Old: oj, New: nj}}})
		}
	}
	fw.Close()
	return rows, pb.Bytes()
}
