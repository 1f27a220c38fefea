package main

// End-to-end tests of the resource profiles other than
// mobileAppInstallStatus (issue 15): what the scenarios in
// testdata/scenarios/<profile>_*.txtar cannot say. An apply interrupted
// as Ctrl-C would interrupt it, under faults, and continued by the same
// command line; $batch; a saved plan. Each ends with the emulator's whole
// collection compared with what the input says it must hold, the objects
// the input does not name included. All on the fake clock.

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// profileCase is a tenant of one profile and an input that changes it.
type profileCase struct {
	res   *resource.Resource
	seed  string // the emulator's state (JSON)
	input string // the CSV
	// rows is the number of rows that differ (the others are unchanged).
	rows int
	// want is the whole collection after a complete apply, in the
	// emulator's order, every property given.
	want string
}

// profileCases: every profile but mobileAppInstallStatus, each with rows
// that set, clear (<null>) and keep properties, a row already as it
// should be, and objects the input does not name. Fewer than 10 rows: a
// reconcile of 10 or more in one collection cannot run on the fake
// clock (see fakeClock).
var profileCases = []profileCase{
	{
		res: resource.ManagedDevice,
		seed: `{"resources": {"managedDevice": [
			{"id": "md-1", "managedDeviceName": "LAPTOP-1", "ownerType": "unknown"},
			{"id": "md-2", "managedDeviceName": "LAPTOP-2", "ownerType": "unknown", "notes": "loaner"},
			{"id": "md-3", "managedDeviceName": "LAPTOP-3", "ownerType": "personal"},
			{"id": "md-4", "managedDeviceName": "LAPTOP-4", "ownerType": "unknown"},
			{"id": "md-5", "managedDeviceName": "LAPTOP-5", "ownerType": "unknown"},
			{"id": "md-6", "managedDeviceName": "LAPTOP-6", "ownerType": "company", "notes": "ok"},
			{"id": "md-7", "managedDeviceName": "LAPTOP-7", "ownerType": "unknown"},
			{"id": "md-8", "managedDeviceName": "LAPTOP-8", "ownerType": "personal", "notes": "not named"}
		]}}`,
		input: "id,managedDeviceName,notes,ownerType\n" +
			"md-1,,,company\n" +
			"md-2,,<null>,company\n" +
			"md-3,HR-3,,\n" +
			"md-4,,kiosk,company\n" +
			"md-5,,,personal\n" +
			"md-6,,ok,company\n" +
			"md-7,LAB-7,lab,personal\n",
		rows: 6,
		want: `[
			{"id": "md-1", "managedDeviceName": "LAPTOP-1", "notes": null, "ownerType": "company"},
			{"id": "md-2", "managedDeviceName": "LAPTOP-2", "notes": null, "ownerType": "company"},
			{"id": "md-3", "managedDeviceName": "HR-3", "notes": null, "ownerType": "personal"},
			{"id": "md-4", "managedDeviceName": "LAPTOP-4", "notes": "kiosk", "ownerType": "company"},
			{"id": "md-5", "managedDeviceName": "LAPTOP-5", "notes": null, "ownerType": "personal"},
			{"id": "md-6", "managedDeviceName": "LAPTOP-6", "notes": "ok", "ownerType": "company"},
			{"id": "md-7", "managedDeviceName": "LAB-7", "notes": "lab", "ownerType": "personal"},
			{"id": "md-8", "managedDeviceName": "LAPTOP-8", "notes": "not named", "ownerType": "personal"}
		]`,
	},
	{
		res: resource.WindowsAutopilotDeviceIdentity,
		seed: `{"resources": {"windowsAutopilotDeviceIdentity": [
			{"id": "ap-1"},
			{"id": "ap-2", "groupTag": "Lab", "displayName": "LAB-2"},
			{"id": "ap-3", "groupTag": "Sales"},
			{"id": "ap-4"},
			{"id": "ap-5", "userPrincipalName": "old@contoso.com", "addressableUserName": "Old"},
			{"id": "ap-6", "groupTag": "Sales"},
			{"id": "ap-7"},
			{"id": "ap-8", "groupTag": "Spare", "displayName": "not named"}
		]}}`,
		input: "id,groupTag,displayName,userPrincipalName,addressableUserName\n" +
			"ap-1,Sales,,,\n" +
			"ap-2,<null>,,,\n" +
			"ap-3,Finance,KIOSK-3,,\n" +
			"ap-4,Sales,,adele@contoso.com,Adele Vance\n" +
			"ap-5,,,<null>,<null>\n" +
			"ap-6,Sales,,,\n" +
			"ap-7,Finance,,,\n",
		rows: 6,
		want: `[
			{"id": "ap-1", "groupTag": "Sales", "displayName": null, "userPrincipalName": null, "addressableUserName": null},
			{"id": "ap-2", "groupTag": null, "displayName": "LAB-2", "userPrincipalName": null, "addressableUserName": null},
			{"id": "ap-3", "groupTag": "Finance", "displayName": "KIOSK-3", "userPrincipalName": null, "addressableUserName": null},
			{"id": "ap-4", "groupTag": "Sales", "displayName": null, "userPrincipalName": "adele@contoso.com", "addressableUserName": "Adele Vance"},
			{"id": "ap-5", "groupTag": null, "displayName": null, "userPrincipalName": null, "addressableUserName": null},
			{"id": "ap-6", "groupTag": "Sales", "displayName": null, "userPrincipalName": null, "addressableUserName": null},
			{"id": "ap-7", "groupTag": "Finance", "displayName": null, "userPrincipalName": null, "addressableUserName": null},
			{"id": "ap-8", "groupTag": "Spare", "displayName": "not named", "userPrincipalName": null, "addressableUserName": null}
		]`,
	},
	{
		res: resource.DeviceCategory,
		seed: `{"resources": {"deviceCategory": [
			{"id": "dc-1", "displayName": "cat-1"},
			{"id": "dc-2", "displayName": "cat-2", "description": "old"},
			{"id": "dc-3", "displayName": "cat-3"},
			{"id": "dc-4", "displayName": "cat-4"},
			{"id": "dc-5", "displayName": "Phones", "description": "Corporate"},
			{"id": "dc-6", "displayName": "cat-6"},
			{"id": "dc-7", "displayName": "cat-7"},
			{"id": "dc-8", "displayName": "not named", "description": "keep"}
		]}}`,
		input: "id,displayName,description\n" +
			"dc-1,Kiosks,\n" +
			"dc-2,,<null>\n" +
			"dc-3,Laptops,Staff laptops\n" +
			"dc-4,,Tablets only\n" +
			"dc-5,Phones,Corporate\n" +
			"dc-6,Lab,<null>\n" +
			"dc-7,Printers,\n",
		rows: 6,
		want: `[
			{"id": "dc-1", "displayName": "Kiosks", "description": null},
			{"id": "dc-2", "displayName": "cat-2", "description": null},
			{"id": "dc-3", "displayName": "Laptops", "description": "Staff laptops"},
			{"id": "dc-4", "displayName": "cat-4", "description": "Tablets only"},
			{"id": "dc-5", "displayName": "Phones", "description": "Corporate"},
			{"id": "dc-6", "displayName": "Lab", "description": null},
			{"id": "dc-7", "displayName": "Printers", "description": null},
			{"id": "dc-8", "displayName": "not named", "description": "keep"}
		]`,
	},
}

// start writes the case's input in a new directory and returns its path
// with an emulator seeded with the case's tenant.
func (pc profileCase) start(t *testing.T, opt emulator.Options) (string, *emulator.Server) {
	t.Helper()
	st, err := emulator.LoadState(strings.NewReader(pc.seed))
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(in, []byte(pc.input), 0o600); err != nil {
		t.Fatal(err)
	}
	return in, newEmulator(t, st, opt)
}

// checkCollection fails the test unless the emulator's whole collection
// of the case's resource is exactly pc.want: no object missing, added or
// with any property other than it should be.
func (pc profileCase) checkCollection(t *testing.T, srv *emulator.Server) {
	t.Helper()
	var want, got []map[string]any
	if err := json.Unmarshal([]byte(pc.want), &want); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(srv.Snapshot().Resources[pc.res.Name])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s objects after apply (-want +got):\n%s", pc.res.Name, diff)
	}
}

// checkOutcomes fails the test unless the results file's outcomes are
// exactly want.
func checkOutcomes(t *testing.T, results string, want map[string]int) []map[string]string {
	t.Helper()
	_, rows := readResults(t, results)
	if diff := cmp.Diff(want, countOutcomes(rows)); diff != "" {
		t.Errorf("outcomes in %s (-want +got):\n%s", filepath.Base(results), diff)
	}
	return rows
}

// appliedTotal is the number of writes that took effect.
func appliedTotal(st emulator.Stats) int {
	n := 0
	for _, v := range st.WritesApplied {
		n += v
	}
	return n
}

// profileFaults are every fault a write can meet but a hang: 5xx without
// applying, a reset after applying, a 429 after applying.
func profileFaults(seed int64) emulator.Options {
	return emulator.Options{
		NoContent: true, Seed: seed,
		Faults: emulator.Faults{ServerError: 0.2, ResetAfterApply: 0.1, ThrottleAfterApply: 0.2},
	}
}

// TestProfilesInterruptResume: per profile, an apply (reconciling, the
// default) under faults is interrupted in-process as Ctrl-C would
// interrupt it, once three writes have taken effect: exit 130, and every
// row in the results, applied or not. The same command line then
// continues the run: the rows applied before are skipped, the others
// read and written, and the whole collection ends exactly as the input
// says. One row at a time, so that the seeded faults (a reset, two 5xx,
// three 429s over both runs) fall on the same writes in every run.
func TestProfilesInterruptResume(t *testing.T) {
	t.Parallel()
	for _, pc := range profileCases {
		t.Run(pc.res.Name, func(t *testing.T) {
			t.Parallel()
			fakeClock(t, func(t *testing.T) {
				in, srv := pc.start(t, profileFaults(4))
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				// The interrupt comes as the third write's answer leaves:
				// on the request count, not on time.
				var once sync.Once
				ce := inProcess(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					srv.ServeHTTP(w, r)
					if appliedTotal(srv.Stats()) >= 3 {
						once.Do(cancel)
					}
				}))
				args := []string{"apply", in, "--yes", "--progress", "never", "--concurrency", "1"}

				r := ce.run(t, ctx, args...)
				if r.code != exitInterrupted {
					t.Fatalf("interrupted apply: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, exitInterrupted, r.stdout, lastLines(r.stderr, 20))
				}
				results := strings.TrimSuffix(in, ".csv") + ".results.csv"
				_, rows := readResults(t, results)
				first := countOutcomes(rows)
				if len(rows) != pc.rows+1 || first["applied"] < 1 || first["applied"] > 3 || first["applied"]+first["unchanged"] == len(rows) {
					t.Fatalf("after the interrupt: %v for %d rows; want every row, 1 to 3 applied and some left to do", first, len(rows))
				}
				for _, row := range rows {
					switch row["outcome"] {
					case "applied", "unchanged", "not_attempted", "failed":
					default:
						t.Errorf("line %s: outcome %q after an interrupt", row["line"], row["outcome"])
					}
				}

				before := srv.Stats()
				r = ce.run(t, t.Context(), args...)
				if r.code != exitOK {
					t.Fatalf("the same command line again: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, lastLines(r.stderr, 20))
				}
				if !strings.Contains(r.stderr, "continuing an unfinished run") {
					t.Errorf("the second run does not say it continues the first:\n%s", lastLines(r.stderr, 10))
				}
				_, rows = readResults(t, results)
				second := countOutcomes(rows)
				// What the first run settled is skipped; what it left, or
				// applied without hearing so, is read again and written
				// or found done.
				if done := first["applied"] + first["unchanged"]; second["skipped"] != done || done+second["applied"]+second["unchanged"] != len(rows) {
					t.Errorf("continued run: %v, want %d skipped and the rest applied or unchanged", second, done)
				}
				pc.checkCollection(t, srv)
				st := srv.Stats()
				if st.EarlyRetries != 0 {
					t.Errorf("%d requests came back before their Retry-After", st.EarlyRetries)
				}
				if len(st.Faults) == 0 {
					t.Errorf("no fault met: the test proves less than it says")
				}
				t.Logf("first run %v, second %v; writes %d then %d; faults %v", first, second, before.Writes, st.Writes-before.Writes, st.Faults)
			})
		})
	}
}

// TestProfilesBatch: per profile, apply --batch sends the writes in JSON
// $batch requests (the autopilot action included), under item faults,
// and the collection ends exactly as the input says.
func TestProfilesBatch(t *testing.T) {
	t.Parallel()
	for _, pc := range profileCases {
		t.Run(pc.res.Name, func(t *testing.T) {
			t.Parallel()
			fakeClock(t, func(t *testing.T) {
				in, srv := pc.start(t, profileFaults(7))
				r := inProcess(srv).run(t, t.Context(), "apply", in, "--yes", "--progress", "never", "--batch", "4")
				if r.code != exitOK {
					t.Fatalf("apply --batch 4: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, lastLines(r.stderr, 20))
				}
				checkOutcomes(t, strings.TrimSuffix(in, ".csv")+".results.csv", map[string]int{"applied": pc.rows, "unchanged": 1})
				pc.checkCollection(t, srv)
				if st := srv.Stats(); st.BatchPosts < 2 || st.EarlyRetries != 0 {
					t.Errorf("%d $batch POSTs (want at least 2 for %d rows in 4s), %d early retries", st.BatchPosts, pc.rows, st.EarlyRetries)
				}
			})
		})
	}
}

// TestProfilesSavedPlan: per profile, plan --reconcile --out saves what
// differs; apply --plan writes exactly that, and nothing else; the
// collection ends as the input says. A row changed on the tenant after
// the plan was saved (by someone else, here through the emulator) is
// left alone by apply --plan --reconcile.
func TestProfilesSavedPlan(t *testing.T) {
	t.Parallel()
	for _, pc := range profileCases {
		t.Run(pc.res.Name, func(t *testing.T) {
			t.Parallel()
			fakeClock(t, func(t *testing.T) {
				in, srv := pc.start(t, emulator.Options{NoContent: true})
				ce := inProcess(srv)
				planPath := filepath.Join(filepath.Dir(in), "plan.json")
				r := ce.run(t, t.Context(), "plan", in, "--reconcile", "--out", planPath, "--detailed-exitcode")
				if r.code != exitChanges {
					t.Fatalf("plan --reconcile --out: exit %d, want %d\n%s%s", r.code, exitChanges, r.stdout, r.stderr)
				}
				wantPlanSummary(t, r, pc.rows, 1)
				if srv.Stats().Writes != 0 {
					t.Fatalf("plan wrote %d times", srv.Stats().Writes)
				}
				r = ce.run(t, t.Context(), "apply", "--plan", planPath, "--yes", "--progress", "never")
				if r.code != exitOK {
					t.Fatalf("apply --plan: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, lastLines(r.stderr, 20))
				}
				st := srv.Stats()
				if st.Writes != pc.rows || appliedTotal(st) != pc.rows {
					t.Errorf("apply --plan: %d writes, %d applied, want %d of each", st.Writes, appliedTotal(st), pc.rows)
				}
				for key, n := range st.WritesApplied {
					if n != 1 || !strings.HasPrefix(key, pc.res.Name+":") {
						t.Errorf("object %s written %d times, want once", key, n)
					}
				}
				pc.checkCollection(t, srv)
			})
		})
	}
}
