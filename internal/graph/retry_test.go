package graph

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"5", 5 * time.Second, true},
		{" 5 ", 5 * time.Second, true},
		{"0", 0, true},
		{"2.128", 2128 * time.Millisecond, true},
		{"0.249", 249 * time.Millisecond, true},
		{"0.0000000001", time.Nanosecond, true}, // positive never rounds to zero
		{"0.0000000000", 0, true},
		{"1.0000000001", time.Second + time.Nanosecond, true},
		{"007", 7 * time.Second, true},
		{"3600", time.Hour, true},
		{"3600.5", time.Hour, true},
		{"86400", time.Hour, true},
		{"99999999999999999999999999", time.Hour, true},
		{"Fri, 02 Jan 2026 03:04:35 GMT", 30 * time.Second, true},
		{"Friday, 02-Jan-26 03:04:35 GMT", 30 * time.Second, true}, // RFC 850
		{"Fri Jan  2 03:04:35 2026", 30 * time.Second, true},       // ANSI C
		{"Fri, 02 Jan 2026 03:00:00 GMT", 0, true},                 // in the past
		{"Sat, 03 Jan 2026 03:04:05 GMT", time.Hour, true},         // capped
		{"", 0, false},
		{"   ", 0, false},
		{"-1", 0, false},
		{"-0.5", 0, false},
		{"+5", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"1e3", 0, false},
		{"0x10", 0, false},
		{"5.", 0, false},
		{".5", 0, false},
		{"1.2.3", 0, false},
		{"1_000", 0, false},
		{"soon", 0, false},
		{"5 seconds", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		now    time.Time
		want   time.Duration
		wantOK bool
	}{
		{"seconds", http.Header{"Retry-After": {"1.5"}}, time.Time{}, 1500 * time.Millisecond, true},
		{"date against Date header", http.Header{
			"Retry-After": {"Fri, 02 Jan 2026 10:00:10 GMT"},
			"Date":        {"Fri, 02 Jan 2026 10:00:00 GMT"},
		}, now, 10 * time.Second, true},
		{"date against now", http.Header{"Retry-After": {"Fri, 02 Jan 2026 03:04:15 GMT"}}, now, 10 * time.Second, true},
		{"date without any reference", http.Header{"Retry-After": {"Fri, 02 Jan 2026 03:04:15 GMT"}}, time.Time{}, 0, false},
		{"absent", http.Header{}, now, 0, false},
		{"garbage", http.Header{"Retry-After": {"later"}}, now, 0, false},
	}
	for _, tt := range tests {
		got, ok := retryAfter(tt.header, tt.now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: retryAfter = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestShouldRetry(t *testing.T) {
	reset := &url.Error{Op: "Patch", URL: "https://x", Err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}
	tests := []struct {
		name   string
		status int
		err    error
		want   bool
	}{
		{"429", 429, nil, true},
		{"500", 500, nil, true},
		{"502", 502, nil, true},
		{"503", 503, nil, true},
		{"504", 504, nil, true},
		{"507 other 5xx", 507, nil, true},
		{"501 not implemented", 501, nil, false},
		{"505", 505, nil, false},
		{"200", 200, nil, false},
		{"204", 204, nil, false},
		{"400", 400, nil, false},
		{"401", 401, nil, false},
		{"403", 403, nil, false},
		{"404", 404, nil, false},
		{"409", 409, nil, false},
		{"EOF", 0, io.EOF, true},
		{"unexpected EOF", 0, fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"connection reset", 0, reset, true},
		{"attempt timeout", 0, fmt.Errorf("graph: no answer within 50ms: %w", context.DeadlineExceeded), true},
		{"refused", 0, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{"untrusted certificate", 0, &url.Error{Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, false},
		{"wrong host certificate", 0, x509.HostnameError{Host: "x"}, false},
		{"too large", 0, fmt.Errorf("%w (more)", errBodyTooLarge), false},
		{"error wins over status", 404, io.EOF, true},
	}
	for _, tt := range tests {
		if got := shouldRetry(tt.status, tt.err); got != tt.want {
			t.Errorf("%s: shouldRetry(%d, %v) = %v, want %v", tt.name, tt.status, tt.err, got, tt.want)
		}
	}
	if shouldRetry(0, errors.New("x")) != true {
		t.Error("a plain error without answer should be retried")
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		n    int
		r    float64
		want time.Duration
	}{
		{1, 0.5, 500 * time.Millisecond},
		{2, 0.5, time.Second},
		{3, 0.5, 2 * time.Second},
		{6, 0.5, 16 * time.Second},
		{7, 0.5, 30 * time.Second},
		{8, 0.5, 30 * time.Second}, // window capped at 60 s
		{1000, 0.999, time.Duration(0.999 * float64(60*time.Second))},
		{1, 0, backoffMin}, // full jitter never means "resend now"
		{0, 0.5, 500 * time.Millisecond},
		{-3, 0.5, 500 * time.Millisecond},
		{1, 1.5, 500 * time.Millisecond}, // out-of-range draw treated as 0.5
		{1, -1, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := backoff(tt.n, tt.r); got != tt.want {
			t.Errorf("backoff(%d, %v) = %v, want %v", tt.n, tt.r, got, tt.want)
		}
	}
}
