package emulator

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// inProcess returns a client that reaches s through a Transport.
func inProcess(s *Server) *http.Client {
	return &http.Client{Transport: &Transport{Handler: s}}
}

func patch(t *testing.T, ctx context.Context, c *http.Client, path, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, "http://127.0.0.1:9/beta"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("client-request-id", "crid-1")
	return c.Do(req)
}

// TestTransportFakeClock: in a synctest bubble, latency and limit windows
// pass on the bubble's clock, and a client that waits out Retry-After
// exactly is not early.
func TestTransportFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(seedState(t), Options{WriteLimit: 1, Window: 20 * time.Second, Latency: 3 * time.Second, NoContent: true})
		if err != nil {
			t.Fatal(err)
		}
		c := inProcess(s)
		start := time.Now()
		resp, err := patch(t, t.Context(), c, "/deviceAppManagement/mobileApps/app1/deviceStatuses/s1", `{"deviceName":"A"}`)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 204 || time.Since(start) != 3*time.Second {
			t.Fatalf("first write: %d after %v, want 204 after the 3 s latency", resp.StatusCode, time.Since(start))
		}
		resp, err = patch(t, t.Context(), c, "/deviceAppManagement/mobileApps/app1/deviceStatuses/s1", `{"deviceName":"B"}`)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "17" {
			t.Fatalf("second write: %d, Retry-After %q; want 429 after 17 s more", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if resp.Header.Get("Date") == "" || resp.Header.Get("request-id") == "" {
			t.Errorf("answer headers %v lack Date or request-id", resp.Header)
		}
		time.Sleep(17 * time.Second)
		resp, err = patch(t, t.Context(), c, "/deviceAppManagement/mobileApps/app1/deviceStatuses/s1", `{"deviceName":"C"}`)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 204 {
			t.Fatalf("write after Retry-After: %d", resp.StatusCode)
		}
		if st := s.Stats(); st.EarlyRetries != 0 || st.WritesApplied[Key("app1", "", "s1")] != 2 {
			t.Errorf("stats %+v: want no early retry and two writes applied", st)
		}
		if obj, _ := s.Object("app1", "", "s1"); obj["deviceName"] != "C" {
			t.Errorf("deviceName %v, want C", obj["deviceName"])
		}
	})
}

// TestTransportDroppedAndHung: a reset fault is an error wrapping
// ECONNRESET, after the write took effect or not; a hang ends with the
// client's deadline, or with Close.
func TestTransportDroppedAndHung(t *testing.T) {
	for _, tt := range []struct {
		name    string
		faults  Faults
		applied int
	}{
		{"reset before", Faults{ResetBeforeApply: 1}, 0},
		{"reset after", Faults{ResetAfterApply: 1}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, err := New(seedState(t), Options{Faults: tt.faults})
				if err != nil {
					t.Fatal(err)
				}
				_, err = patch(t, t.Context(), inProcess(s), "/deviceAppManagement/mobileApps/app1/deviceStatuses/s1", `{"deviceName":"A"}`)
				if !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("error %v, want one wrapping ECONNRESET", err)
				}
				if n := s.Stats().WritesApplied[Key("app1", "", "s1")]; n != tt.applied {
					t.Errorf("%d writes applied, want %d", n, tt.applied)
				}
			})
		})
	}
	t.Run("hang until the client's deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s, err := New(seedState(t), Options{Faults: Faults{Hang: 1, HangFor: time.Minute}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			start := time.Now()
			_, err = patch(t, ctx, inProcess(s), "/deviceAppManagement/mobileApps/app1/deviceStatuses/s1", `{}`)
			if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 5*time.Second {
				t.Errorf("error %v after %v, want the deadline after 5 s", err, time.Since(start))
			}
		})
	})
	t.Run("hang until Close", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s, err := New(seedState(t), Options{Faults: Faults{Hang: 1, HangFor: time.Minute}})
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				time.Sleep(time.Second)
				s.Close()
			}()
			_, err = patch(t, t.Context(), inProcess(s), "/deviceAppManagement/mobileApps/app1/deviceStatuses/s1", `{}`)
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("error %v, want one wrapping ECONNRESET", err)
			}
		})
	})
	t.Run("hang for HangFor", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s, err := New(seedState(t), Options{Faults: Faults{Hang: 1, HangFor: time.Minute}})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			resp, err := patch(t, t.Context(), inProcess(s), "/deviceAppManagement/mobileApps/app1/deviceStatuses/s1", `{}`)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 504 || time.Since(start) != time.Minute || !strings.Contains(string(b), "GatewayTimeout") {
				t.Errorf("%d after %v: %s; want 504 GatewayTimeout after a minute", resp.StatusCode, time.Since(start), b)
			}
		})
	})
}

// TestTransportBatchAndPaging: a $batch and a paged collection work
// in-process; nextLinks name the host the client used.
func TestTransportBatchAndPaging(t *testing.T) {
	s, err := New(seedState(t), Options{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	c := inProcess(s)
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9/beta/deviceAppManagement/mobileApps/app1/deviceStatuses", nil)
	req.Header.Set("Authorization", "Bearer t")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"@odata.nextLink":"http://127.0.0.1:9/beta/`) {
		t.Errorf("page: %d %s", resp.StatusCode, b)
	}
	body := `{"requests":[{"id":"1","method":"PATCH","url":"/deviceAppManagement/mobileApps/app1/deviceStatuses/s2",` +
		`"headers":{"Content-Type":"application/json"},"body":{"deviceName":"X"}}]}`
	req, _ = http.NewRequest(http.MethodPost, "http://127.0.0.1:9/beta/$batch", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Set("Content-Type", "application/json")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"status":200`) {
		t.Errorf("$batch: %d %s", resp.StatusCode, b)
	}
	if obj, _ := s.Object("app1", "", "s2"); obj["deviceName"] != "X" {
		t.Errorf("deviceName %v after the $batch, want X", obj["deviceName"])
	}
	if _, err := (&http.Client{Transport: &Transport{}}).Do(req); err == nil {
		t.Error("a Transport without a Handler answered")
	}
}
