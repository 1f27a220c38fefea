package graph

import (
	"time"
)

// spacing is the gap the pacer leaves between requests at perSec: a
// little more than 1/perSec, for the paceShare margin.
func spacing(perSec float64) time.Duration {
	return time.Duration(float64(time.Second) / (perSec * paceShare))
}

// closeTo reports whether two durations are within a microsecond, which
// absorbs float rounding.
func closeTo(got, want time.Duration) bool {
	d := got - want
	return d > -time.Microsecond && d < time.Microsecond
}
