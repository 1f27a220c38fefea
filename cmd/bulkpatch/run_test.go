package main

import (
	"flag"
	"io"
	"slices"
	"testing"
)

func TestParseFlagsInterspersed(t *testing.T) {
	tests := []struct {
		args    []string
		wantPos []string
		wantRec bool
		wantOut string
	}{
		{[]string{"a.csv", "--reconcile", "--out", "p.json"}, []string{"a.csv"}, true, "p.json"},
		{[]string{"--reconcile", "a.csv"}, []string{"a.csv"}, true, ""},
		{[]string{"--out=p.json", "a.csv", "b.csv"}, []string{"a.csv", "b.csv"}, false, "p.json"},
		{[]string{"--", "--reconcile"}, []string{"--reconcile"}, false, ""},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		rec := fs.Bool("reconcile", false, "")
		out := fs.String("out", "", "")
		pos, err := parse(fs, tt.args, -1)
		if err != nil {
			t.Fatalf("parseFlags(%q): %v", tt.args, err)
		}
		if !slices.Equal(pos, tt.wantPos) || *rec != tt.wantRec || *out != tt.wantOut {
			t.Errorf("parseFlags(%q) = %q, reconcile=%v, out=%q; want %q, %v, %q", tt.args, pos, *rec, *out, tt.wantPos, tt.wantRec, tt.wantOut)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := parse(fs, []string{"a.csv", "--nope"}, -1); err == nil {
		t.Error("an unknown flag after a positional argument was accepted")
	}
}

func TestHasFlag(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"--plan", "p.json"}, true},
		{[]string{"-plan=p.json"}, true},
		{[]string{"plan.csv"}, false},
		{[]string{"--planet"}, false},
	}
	for _, tt := range tests {
		if got := hasFlag(tt.args, "plan"); got != tt.want {
			t.Errorf("hasFlag(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}
