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
)

// The bench binary doubles as the baselines it measures bulkpatch
// against, run as child processes so that their time, CPU and peak RSS
// are measured exactly as bulkpatch's are:
//
//	bench -mode plaincsv FILE          read FILE with encoding/csv, nothing else
//	bench -mode sequential -url U FILE PATCH each row in turn with net/http, no pacing, no retry

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
// the CSV, PATCH each row with net/http, one at a time, no pacing, no
// retry. Every property cell that is not empty is sent as a string,
// errorCode as a number.
func sequential(ctx context.Context, base, token, path string, stdout io.Writer) error {
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
	sum := seqSummary{ByStatus: map[string]int{}}
	client := &http.Client{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		sum.Rows++
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
					return fmt.Errorf("line %d: errorCode %q", sum.Rows+1, rec[i])
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
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			sum.Errors++
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		sum.ByStatus[strconv.Itoa(resp.StatusCode)]++
	}
	return json.NewEncoder(stdout).Encode(sum)
}

// runChildMode runs one of the baseline modes; it is main for a child.
func runChildMode(ctx context.Context, mode, rawURL string, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("want exactly one input file")
	}
	switch mode {
	case "plaincsv":
		return plainCSV(args[0], stdout)
	case "sequential":
		if !strings.HasPrefix(rawURL, "http://127.0.0.1:") {
			return errors.New("-url must be a loopback emulator")
		}
		return sequential(ctx, rawURL, os.Getenv("BULKPATCH_TOKEN"), args[0], stdout)
	}
	return fmt.Errorf("unknown -mode %q", mode)
}
