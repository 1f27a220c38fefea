package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// Figure 10 (issue 15): pacing at the devices bucket with the resource's
// default rate. managedDevice rows against a server allowing Intune's
// devices bucket (200 writes per 20 s per app registration) on figure 1's
// window, bulkpatch without --rate, so that resource.ManagedDevice's
// DefaultRate applies, and --no-reconcile as in figure 1.

// Intune's devices bucket: writes per window per app registration.
const (
	intuneDeviceWrites = 200
	intuneWindow       = 20 * time.Second
)

// DevicesRun holds figure 10.
type DevicesRun struct {
	Limit       int           // writes the server admits per Window
	Window      time.Duration // figure 1's
	Allowed     float64       // writes/s the server sustains
	DefaultRate float64       // managedDevice's default --rate
	Run         applyRun
	Err         string
	// Long repeats the run against a window longWindow times longer (and
	// as many more writes in it: the same rate) when the goal was missed,
	// as figure 1 does.
	Long    *applyRun
	LongErr string
}

// devicesProfile is the devices bucket on figure 1's window: the window
// shortened as figure 1 shortens Intune's, the rate kept, since the
// default --rate under test is the bucket's rate.
func devicesProfile(c config) emulator.Options {
	limit := int(float64(intuneDeviceWrites) * c.window.Seconds() / intuneWindow.Seconds())
	return emulator.Options{WriteLimit: limit, Window: c.window}
}

func (b *bench) devices(ctx context.Context) DevicesRun {
	c := b.cfg
	opt := devicesProfile(c)
	dr := DevicesRun{Limit: opt.WriteLimit, Window: opt.Window, Allowed: float64(opt.WriteLimit) / opt.Window.Seconds(),
		DefaultRate: resource.ManagedDevice.DefaultRate}
	flags := writeFlags("--concurrency", strconv.Itoa(limitConcurrency))
	run, err := b.applyCase(ctx, applyCase{tag: "devices", rows: c.devicesRows, spec: emuSpec{opt: opt, devices: true}, exact: true, flags: flags})
	dr.Run = run
	if err != nil {
		dr.Err = err.Error()
		return dr
	}
	if run.Throttled > 0 || run.achieved()/dr.Allowed < pacingGoal {
		opt.WriteLimit *= longWindow
		opt.Window *= longWindow
		long, err := b.applyCase(ctx, applyCase{tag: "devices-long-window", rows: c.devicesRows, spec: emuSpec{opt: opt, devices: true},
			exact: true, flags: flags})
		dr.Long = &long
		if err != nil {
			dr.LongErr = err.Error()
		}
	}
	return dr
}

// limitRuns is the run as figure 1's, for atLimitCause.
func (d *DevicesRun) limitRuns() *LimitRuns {
	return &LimitRuns{Allowed: d.Allowed, Window: d.Window, Limit: d.Limit, AtLimit: d.Run, AtLimitLong: d.Long, AtLimitLongErr: d.LongErr}
}

func (r *Report) devicesGoals() []goal {
	d := r.Devices
	if d == nil || d.Err != "" {
		return nil
	}
	a := &d.Run
	eff := a.achieved() / d.Allowed
	g := goal{Figure: "10", What: "managedDevice at its default --rate, devices bucket (issue 15): achieved ÷ allowed writes/s",
		Measured: fmt.Sprintf("%s, %d × 429", ratio(eff), a.Throttled),
		Target:   "≥ 0.97 and zero 429s", Met: eff >= pacingGoal && a.Throttled == 0 && a.Applied == a.Rows && a.Exact == a.Rows}
	if !g.Met {
		g.Cause = d.limitRuns().atLimitCause(eff, r.Machine.LoadEnd)
		if a.Exact != a.Rows {
			g.Cause += fmt.Sprintf("Only %d of %d devices ended exact. ", a.Exact, a.Rows)
		}
		if d.DefaultRate != d.Allowed {
			g.Cause += fmt.Sprintf("managedDevice's default --rate is %s writes/s, the server allows %s. ", formatFloat(d.DefaultRate), formatFloat(d.Allowed))
		}
	}
	return []goal{g}
}

func (r *Report) renderDevices(w *mdWriter) {
	w.line("## 10. Pacing at the devices bucket, at the resource's default rate")
	w.line("")
	d := r.Devices
	if d == nil {
		notRun(w)
		return
	}
	w.line(fmt.Sprintf("Issue 15: `managedDevice` rows (`id,managedDeviceName,notes,ownerType`, as `bulkpatch resources managedDevice "+
		"--template` prints; each row renames a device, sets its note and its owner) against a fresh emulator holding the devices "+
		"(seeded as `{\"resources\": {\"managedDevice\": [...]}}`, Graph's defaults besides the id). Intune's devices bucket allows "+
		"%d writes per %v per app registration; the emulator allows %d per %v, the window shortened as figure 1 shortens "+
		"Intune's, the rate (%s writes/s) kept, because the rate under test is bulkpatch's default for managedDevice, %s "+
		"writes/s: the command has no --rate. `--no-reconcile` as in figure 1; *achieved* and *ideal* as in figure 1.",
		intuneDeviceWrites, intuneWindow, d.Limit, d.Window, formatFloat(d.Allowed), formatFloat(d.DefaultRate)))
	w.line("")
	if d.Err != "" {
		failed(w, "the devices run", d.Err)
		return
	}
	var rows [][]string
	var cmds []string
	for _, x := range []struct {
		name string
		run  *applyRun
		err  string
	}{{fmt.Sprintf("%d per %v", d.Limit, d.Window), &d.Run, ""},
		{fmt.Sprintf("%d per %v (diagnosis)", d.Limit*longWindow, d.Window*longWindow), d.Long, d.LongErr}} {
		if x.run == nil {
			continue
		}
		if x.err != "" {
			failed(w, x.name, x.err)
			continue
		}
		a := x.run
		cmds = append(cmds, a.Cmd)
		rows = append(rows, []string{x.name, strconv.Itoa(a.Rows), formatFloat(d.DefaultRate), strconv.Itoa(a.Applied),
			fmt.Sprintf("%d / %d", a.Exact, a.Rows), fmt.Sprintf("%.2f", a.achieved()), ratio(a.achieved() / d.Allowed), secs(a.Wall),
			ratio(a.totalOverIdeal(d.Allowed)), strconv.Itoa(a.Throttled), strconv.Itoa(a.EarlyRetries), outcomes(a.Outcomes)})
	}
	w.table([]string{"server allows", "rows", "default --rate", "applied (server)", "exact", "achieved writes/s", "÷ allowed", "total",
		"total ÷ ideal", "429s", "early retries", "results file"}, rows)
	a := &d.Run
	profile := "`" + a.Profile + "`"
	if d.Long != nil {
		profile += " (diagnosis: `" + d.Long.Profile + "`)"
	}
	w.line("Emulator: " + profile + ", seeded with the devices. Command:")
	w.line("")
	w.commands(cmds...)
}
