package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Peers holds figure 6: the same input and emulator profile as figure 1
// through bulkpatch (figure 1's run), a plain sequential client and
// Postman's Newman.
type Peers struct {
	Bulkpatch     applyRun
	BulkpatchErr  string
	Sequential    applyRun
	SequentialErr string
	Newman        applyRun
	// NewmanSkipped says why Newman was not run; empty when it was.
	NewmanSkipped string
	NewmanErr     string
	NewmanVersion string
	NewmanInstall string // the install command
	// NewmanCapped is set when Newman was stopped at newmanCap.
	NewmanCapped bool
}

// newmanCap bounds the Newman run, so that a slow machine cannot push
// `make bench` past its time budget; a capped run is reported as such.
const newmanCap = 3 * time.Minute

func (b *bench) peers(ctx context.Context, lim LimitRuns) Peers {
	p := Peers{Bulkpatch: lim.AtLimit, BulkpatchErr: lim.AtLimitErr}
	n := b.cfg.limitRows
	var err error
	if p.Sequential, err = b.sequential(ctx, n, limitProfile(b.cfg), 1); err != nil {
		p.SequentialErr = err.Error()
	}
	if !b.cfg.newman {
		p.NewmanSkipped = "not requested (-newman=false)"
		return p
	}
	newman, err := b.installNewman(ctx, &p)
	if err != nil {
		p.NewmanSkipped = err.Error()
		b.logf("newman skipped: %v", err)
		return p
	}
	if p.Newman, p.NewmanCapped, err = b.newman(ctx, newman, n, emuSpec{opt: limitProfile(b.cfg)}, false); err != nil {
		p.NewmanErr = err.Error()
	}
	return p
}

// installNewman installs Newman with npm into b.dir/npm, once, and
// returns the path of its command. It fails, and figure 6 says so, when
// npm is missing or the install does not work (no registry access, say).
func (b *bench) installNewman(ctx context.Context, p *Peers) (string, error) {
	if b.newmanCmd != "" || b.newmanErr != nil {
		p.NewmanInstall, p.NewmanVersion = b.newmanInstall, b.newmanVersion
		return b.newmanCmd, b.newmanErr
	}
	cmd, err := b.installNewmanOnce(ctx, p)
	b.newmanCmd, b.newmanErr, b.newmanInstall, b.newmanVersion = cmd, err, p.NewmanInstall, p.NewmanVersion
	return cmd, err
}

func (b *bench) installNewmanOnce(ctx context.Context, p *Peers) (string, error) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", errors.New("npm is not installed, so Newman could not be installed")
	}
	prefix := filepath.Join(b.dir, "npm")
	p.NewmanInstall = "npm install --prefix $TMP/npm newman --no-audit --no-fund"
	ictx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := runChildIn(ictx, b.dir, p.NewmanInstall, nil, npm, "install", "--prefix", prefix, "newman", "--no-audit", "--no-fund", "--loglevel=error")
	if err == nil && res.Exit != 0 {
		err = fmt.Errorf("exit %d: %s", res.Exit, res.tail())
	}
	if err != nil {
		return "", fmt.Errorf("`%s` failed: %v", p.NewmanInstall, err)
	}
	b.logf("installed newman in %v", time.Since(start).Round(time.Second))
	cmd := filepath.Join(prefix, "node_modules", ".bin", "newman")
	if v, err := exec.CommandContext(ctx, cmd, "--version").Output(); err == nil {
		p.NewmanVersion = strings.TrimSpace(string(v))
	}
	return cmd, nil
}

// newmanScript is the pre-request script a Postman user writes to drive
// one PATCH per CSV row: the route from the id columns, the body from
// every non-empty property cell (errorCode as a number).
var newmanScript = []string{
	"const d = pm.iterationData.toObject();",
	"const ids = ['mobileAppId', 'userAppInstallStatusId', 'mobileAppInstallStatusId'];",
	"let path = 'deviceAppManagement/mobileApps/' + encodeURIComponent(d.mobileAppId) + '/';",
	"if (d.userAppInstallStatusId) { path += 'userStatuses/' + encodeURIComponent(d.userAppInstallStatusId) + '/'; }",
	"path += 'deviceStatuses/' + encodeURIComponent(d.mobileAppInstallStatusId);",
	"const body = {};",
	"for (const [k, v] of Object.entries(d)) {",
	"  if (ids.includes(k) || v === '') { continue; }",
	"  body[k] = k === 'errorCode' ? Number(v) : String(v);",
	"}",
	"pm.variables.set('statusPath', path);",
	"pm.variables.set('body', JSON.stringify(body));",
}

// newmanCollection is a Postman v2.1 collection with that one request.
func newmanCollection() ([]byte, error) {
	c := map[string]any{
		"info": map[string]any{
			"name":   "bulkpatch peer: PATCH mobileAppInstallStatus per CSV row",
			"schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
		},
		"item": []any{map[string]any{
			"name": "PATCH install status",
			"event": []any{map[string]any{
				"listen": "prerequest",
				"script": map[string]any{"type": "text/javascript", "exec": newmanScript},
			}},
			"request": map[string]any{
				"method": "PATCH",
				"header": []any{
					map[string]any{"key": "Content-Type", "value": "application/json"},
					map[string]any{"key": "Authorization", "value": "Bearer {{token}}"},
				},
				"url":  "{{baseUrl}}/{{statusPath}}",
				"body": map[string]any{"mode": "raw", "raw": "{{body}}"},
			},
		}},
	}
	return json.MarshalIndent(c, "", "  ")
}

// newman runs the collection over an n-row input against a fresh
// emulator as spec says (with exact: counting the rows left exact).
func (b *bench) newman(ctx context.Context, newman string, n int, spec emuSpec, exact bool) (run applyRun, capped bool, err error) {
	in, err := b.input(n)
	if err != nil {
		return applyRun{}, false, err
	}
	coll, err := newmanCollection()
	if err != nil {
		return applyRun{}, false, err
	}
	const collName = "peer.postman_collection.json"
	if err := os.WriteFile(filepath.Join(b.dir, collName), coll, 0o644); err != nil {
		return applyRun{}, false, err
	}
	run, err = b.withEmuSpec(ctx, n, spec, exact, func(e *emu) (proc, error) {
		base := e.base
		args := []string{"run", collName, "-d", in, "--env-var", "baseUrl=" + base, "--env-var", "token=" + token, "--silent"}
		display := strings.ReplaceAll("newman "+strings.Join(args, " "), base, "http://127.0.0.1:PORT/beta")
		nctx, cancel := context.WithTimeout(ctx, newmanCap)
		defer cancel()
		p, err := b.child(nctx, display, newman, args...)
		if ctx.Err() == nil && errors.Is(nctx.Err(), context.DeadlineExceeded) {
			capped, err = true, nil
		}
		return p, err
	})
	// Newman exits 1 when a request failed (a dropped connection, say):
	// a run that went through every row, which is what is measured.
	if err == nil && run.Exit != 0 && run.Exit != 1 && !capped {
		err = fmt.Errorf("%s: exit %d: %s", run.Cmd, run.Exit, run.tail())
	}
	b.logf("newman %d rows: %v, %d applied, %d throttled (capped: %v)", n, run.Wall.Round(time.Millisecond), run.Applied, run.Throttled, capped)
	return run, capped, err
}
