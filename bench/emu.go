package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// emu is an emulator served on loopback behind a probe that times the
// write requests as the server sees them.
type emu struct {
	srv   *emulator.Server
	hs    *http.Server
	base  string // e.g. http://127.0.0.1:41234/beta
	probe *probe
	opt   emulator.Options
}

// emuSpec is an emulator to serve: its options, the weather it serves
// in (see emulator.Weather), and whether over TLS (for clients that send
// a token only over https, as Microsoft's Graph SDK does).
type emuSpec struct {
	opt     emulator.Options
	weather emulator.Weather
	tls     bool
	other   bool // the tenant also holds the second client's objects (withOther)
	devices bool // the tenant holds managed devices (devicesState), not install statuses
}

// startEmu serves a fresh emulator holding st on 127.0.0.1.
func startEmu(st *emulator.State, opt emulator.Options) (*emu, error) {
	return startEmuSpec(st, emuSpec{opt: opt})
}

// startEmuSpec serves a fresh emulator as spec says, holding st.
func startEmuSpec(st *emulator.State, spec emuSpec) (*emu, error) {
	opt := spec.opt
	opt.TLS = spec.tls
	srv, err := emulator.New(st, opt)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, err
	}
	scheme := "http"
	if spec.tls {
		ln = tls.NewListener(ln, srv.TLSConfig())
		scheme = "https"
	}
	p := &probe{next: srv.In(spec.weather)}
	hs := &http.Server{Handler: p, ReadHeaderTimeout: time.Minute}
	go func() { _ = hs.Serve(ln) }() // returns on Close
	return &emu{srv: srv, hs: hs, base: scheme + "://" + ln.Addr().String() + "/beta", probe: p, opt: opt}, nil
}

// close ends pending latency and hangs, then the listener.
func (e *emu) close() {
	e.srv.Close()
	e.hs.Close()
}

// probe wraps the emulator's handler and records when write requests
// (anything but GET) arrived and when their answers were done. Those of
// the bench's own second client (User-Agent otherAgent) are kept apart.
type probe struct {
	next http.Handler

	mu         sync.Mutex
	arrivals   []arrival
	others     []arrival
	lastDone   time.Time
	retryAfter time.Duration // sum over 429s
	// waits503 are the Retry-After values of the 503s answering whole
	// requests: the time rows were told to wait although the quota had
	// room.
	waits503 []time.Duration
}

// otherAgent is the User-Agent of the bench's second client (figure 8).
const otherAgent = "bench-second-client"

// arrival is one write request as the probe saw it.
type arrival struct {
	at     time.Time
	status int // 0 when the connection was dropped
}

func (p *probe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &raRecorder{ResponseWriter: w}
	p.next.ServeHTTP(rw, r)
	if r.Method == http.MethodGet {
		return
	}
	if r.Header.Get("User-Agent") == otherAgent {
		p.mu.Lock()
		p.others = append(p.others, arrival{at: start, status: rw.status})
		p.mu.Unlock()
		return
	}
	end := time.Now()
	p.mu.Lock()
	p.arrivals = append(p.arrivals, arrival{at: start, status: rw.status})
	if end.After(p.lastDone) {
		p.lastDone = end
	}
	if rw.status == http.StatusTooManyRequests {
		p.retryAfter += rw.retryAfter
	}
	if rw.status == http.StatusServiceUnavailable && rw.retryAfter > 0 {
		p.waits503 = append(p.waits503, rw.retryAfter)
	}
	p.mu.Unlock()
}

// promised returns the sum of the Retry-After values of the 429s the
// server sent: how long it told the client to stay away, overlaps
// counted twice.
func (p *probe) promised() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.retryAfter
}

// waits503 returns the Retry-After values of the 503s answering whole
// requests.
func (p *probe) unavailableWaits() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.waits503)
}

// raRecorder notes the Retry-After of a 429 answer on its way out. A
// $batch item's 429 travels inside the body and is not seen here.
type raRecorder struct {
	http.ResponseWriter
	status     int
	retryAfter time.Duration
}

func (w *raRecorder) WriteHeader(status int) {
	w.status = status
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		if s, err := strconv.ParseFloat(w.Header().Get("Retry-After"), 64); err == nil && s > 0 {
			w.retryAfter = time.Duration(s * float64(time.Second))
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

// Hijack lets the emulator drop a connection through the recorder, as its
// fault injection does.
func (w *raRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("bench: connection cannot be hijacked")
	}
	return hj.Hijack()
}

// writeTimes returns the first and last write arrival and the end of
// the last write answer; zero times when there was no write.
func (p *probe) writeTimes() (first, last, done time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range p.arrivals {
		if first.IsZero() || a.at.Before(first) {
			first = a.at
		}
		if a.at.After(last) {
			last = a.at
		}
	}
	return first, last, p.lastDone
}

// bunching looks at how writes were spaced when they reached the server
// under a limit of w per window: for each 429, the time from the arrival
// of the w-th admitted write before it to its own (under the window,
// or it would not have been refused), and the longest gap between two
// consecutive writes up to the first 429 (a stall on the way). Writes paced evenly at just
// under the limit span a little more than the window per w+1.
func (p *probe) bunching(w int) (spans []time.Duration, maxGap time.Duration) {
	p.mu.Lock()
	arr := slices.Clone(p.arrivals)
	p.mu.Unlock()
	slices.SortFunc(arr, func(a, b arrival) int { return a.at.Compare(b.at) })
	var admitted []time.Time
	throttled := false // gaps after a 429 are its Retry-After, not stalls
	for i, a := range arr {
		if i > 0 && !throttled {
			maxGap = max(maxGap, a.at.Sub(arr[i-1].at))
		}
		throttled = throttled || a.status == http.StatusTooManyRequests
		switch {
		case a.status == http.StatusTooManyRequests && len(admitted) >= w:
			spans = append(spans, a.at.Sub(admitted[len(admitted)-w]))
		case a.status > 0 && a.status < 300:
			admitted = append(admitted, a.at)
		}
	}
	return spans, maxGap
}

// describeSpec is describe, with the weather when there is one.
func describeSpec(spec emuSpec) string {
	d := describe(spec.opt)
	w := spec.weather
	var extra []string
	if w.Latency > 0 || w.Jitter > 0 {
		extra = append(extra, fmt.Sprintf("latency %v ± %v per request", w.Latency, w.Jitter))
	}
	if w.Unavailable {
		extra = append(extra, "its 500s and 502s answered as 503")
	}
	if spec.tls {
		extra = append(extra, "over TLS")
	}
	if len(extra) > 0 {
		d += " (with emulator.Weather: " + strings.Join(extra, ", ") + ")"
	}
	return d
}

// describe is the emulator's profile as the equivalent `bulkpatch
// emulator` flags, so a reader can reproduce a run by hand.
func describe(opt emulator.Options) string {
	var f []string
	switch {
	case opt.WriteLimit > 0 && opt.ReadLimit > 0:
		f = append(f, fmt.Sprintf("--write-limit %d --read-limit %d --window %v", opt.WriteLimit, opt.ReadLimit, opt.Window))
	case opt.WriteLimit > 0:
		f = append(f, fmt.Sprintf("--write-limit %d --window %v", opt.WriteLimit, opt.Window))
	case opt.ReadLimit > 0:
		f = append(f, fmt.Sprintf("--read-limit %d --window %v", opt.ReadLimit, opt.Window))
	}
	if opt.RetryAfter != "" && opt.RetryAfter != emulator.RetryAfterInteger {
		f = append(f, "--retry-after "+opt.RetryAfter)
	}
	if opt.Latency > 0 {
		f = append(f, fmt.Sprintf("--latency %v", opt.Latency))
	}
	fs := opt.Faults
	for _, x := range []struct {
		flag string
		p    float64
	}{{"--fault-5xx", fs.ServerError}, {"--fault-reset-before", fs.ResetBeforeApply}, {"--fault-reset-after", fs.ResetAfterApply},
		{"--fault-429-after", fs.ThrottleAfterApply}} {
		if x.p > 0 {
			f = append(f, fmt.Sprintf("%s %s", x.flag, formatFloat(x.p)))
		}
	}
	if len(f) == 0 {
		return "bulkpatch emulator (no limits, no latency)"
	}
	return "bulkpatch emulator " + strings.Join(f, " ")
}
