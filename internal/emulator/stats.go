package emulator

import "maps"

// Stats counts what the emulator saw and did since New. Batch items count
// as requests of their own wherever that matters to quota: in Reads,
// Writes, Throttled, ByStatus and EarlyRetries.
type Stats struct {
	// Requests is the number of HTTP requests received; a $batch POST is one.
	Requests int
	// ByStatus counts answers by HTTP status: each plain request once and
	// each batch item by its own status. A $batch POST is counted only when
	// it is answered as a whole (rejected, throttled, failed). Dropped
	// connections, and hangs the client gave up on, count nowhere.
	ByStatus map[int]int
	// Reads and Writes count the GET and write (PATCH, action POST)
	// requests that reached a served route and passed the permission
	// checks, throttled or not.
	Reads, Writes int
	// BatchPosts is the number of $batch POSTs received.
	BatchPosts int
	// Throttled is the number of 429 answers, from the limiter (to
	// requests, items or a $batch POST) or from ThrottleAfterApply faults.
	Throttled int
	// EarlyRetries counts requests that came back, by client-request-id,
	// before the Retry-After they were given had passed: each one burnt
	// quota for nothing.
	EarlyRetries int
	// WritesApplied counts, per object (see ObjectKey), the writes that
	// took effect, including those whose answer was then lost to a fault;
	// a write met by IgnoreWrite does not count.
	WritesApplied map[string]int
	// Faults counts the injected faults that took effect, by the name of
	// their Faults field: "resetBeforeApply", "resetAfterApply", "hang",
	// "serverError", "throttleAfterApply", "ignoreWrite"; those drawn from
	// Options.ReadFaults are prefixed "read.", e.g. "read.serverError".
	Faults map[string]int
	// InFlight is the number of HTTP requests being served now, and
	// MaxInFlight its high-water mark: the client's real concurrency.
	InFlight, MaxInFlight int
}

func newStats() Stats {
	return Stats{
		ByStatus:      make(map[int]int),
		WritesApplied: make(map[string]int),
		Faults:        make(map[string]int),
	}
}

func (st Stats) clone() Stats {
	st.ByStatus = maps.Clone(st.ByStatus)
	st.WritesApplied = maps.Clone(st.WritesApplied)
	st.Faults = maps.Clone(st.Faults)
	return st
}
