package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
)

// The bench binary doubles as the baselines it measures bulkpatch
// against, run as child processes so that their time, CPU and peak RSS
// are measured exactly as bulkpatch's are:
//
//	bench -mode plaincsv FILE          read FILE with encoding/csv, nothing else
//	bench -mode sequential -url U FILE PATCH each row in turn with net/http, no pacing, no retry
//	bench -mode sequential -concurrency N -url U FILE   the same with N requests in flight
//	bench -mode heap FILE              what apply's per-row state holds for FILE (memory.go)

// plainCSV reads path with encoding/csv, reusing its record, as the
// cheapest correct way to look at every cell: the floor for validate and
// plan.
func plainCSV(path string, stdout io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
	r.ReuseRecord = true
	n := 0
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		n++
	}
	fmt.Fprintf(stdout, "%d records\n", n)
	return nil
}

// seqSummary is what the sequential client prints: answers by status.
type seqSummary struct {
	Rows     int            `json:"rows"`
	ByStatus map[string]int `json:"byStatus"`
	Errors   int            `json:"errors"` // no answer at all
}

// sequential is the plain client a script writer would start with: read
// the CSV, PATCH each row with net/http, no pacing, no retry. Every
// property cell that is not empty is sent as a string, errorCode as a
// number. With conc > 1 it keeps conc requests in flight, and nothing
// else: the floor for figure 3.
func sequential(ctx context.Context, base, token, path string, conc int, stdout io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	header, err := r.Read()
	if err != nil {
		return err
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	app, user, status := col["mobileAppId"], col["userAppInstallStatusId"], col["mobileAppInstallStatusId"]
	// One idle connection per worker, or net/http's default of two per
	// host would make most workers dial anew for every request.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = max(conc, 2)
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()

	sum := seqSummary{ByStatus: map[string]int{}}
	var mu sync.Mutex
	send := func(rec []string) error {
		p := base + "/deviceAppManagement/mobileApps/" + url.PathEscape(rec[app]) + "/"
		if rec[user] != "" {
			p += "userStatuses/" + url.PathEscape(rec[user]) + "/"
		}
		p += "deviceStatuses/" + url.PathEscape(rec[status])
		body := map[string]any{}
		for i, h := range header {
			if i == app || i == user || i == status || rec[i] == "" {
				continue
			}
			if h == "errorCode" {
				n, err := strconv.Atoi(rec[i])
				if err != nil {
					return fmt.Errorf("errorCode %q: %w", rec[i], err)
				}
				body[h] = n
				continue
			}
			body[h] = rec[i]
		}
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPatch, p, bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			sum.Errors++
			return nil
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		sum.ByStatus[strconv.Itoa(resp.StatusCode)]++
		return nil
	}

	rows := make(chan []string)
	g, gctx := errgroup.WithContext(ctx)
	for range max(conc, 1) {
		g.Go(func() error {
			for rec := range rows {
				if err := send(rec); err != nil {
					return err
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(rows)
		for {
			rec, err := r.Read()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			mu.Lock()
			sum.Rows++
			mu.Unlock()
			select {
			case rows <- rec:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
	})
	if err := g.Wait(); err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(sum)
}

// runChildMode runs one of the baseline modes; it is main for a child.
func runChildMode(ctx context.Context, mode, rawURL string, conc int, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("want exactly one input file")
	}
	switch mode {
	case "plaincsv":
		return plainCSV(args[0], stdout)
	case "heap":
		return measureHeap(args[0], stdout)
	case "sequential":
		if !strings.HasPrefix(rawURL, "http://127.0.0.1:") {
			return errors.New("-url must be a loopback emulator")
		}
		return sequential(ctx, rawURL, os.Getenv("BULKPATCH_TOKEN"), args[0], conc, stdout)
	}
	return fmt.Errorf("unknown -mode %q", mode)
}
