package main

// Hostile ids cannot steer requests: an id that could change the path is
// refused before anything is sent, any other is sent exactly to its route,
// from the input, a tampered saved plan or export's arguments.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// hzHostileIDs are id cells a spreadsheet that passed through many hands
// may hold. reject says the README's id rules refuse it.
var hzHostileIDs = []struct {
	name   string
	id     string
	reject bool
}{
	{"dot-dot", "..", true},
	{"dot", ".", true},
	{"escaped slash", "%2F", true},
	{"escaped dot-dot", "%2e%2e", true},
	{"slash", "a/b", true},
	{"traversal", "../../deviceManagement/managedDevices", true},
	{"query", "a?b=1", true},
	{"fragment", "a#b", true},
	{"backslash", `a\b`, true},
	{"fullwidth solidus", "a\uFF0Fb", true},
	{"division slash", "a\u2215b", true},
	{"fraction slash", "a\u2044b", true},
	{"long solidus overlay", "a\u0338", true},
	{"fullwidth percent", "a\uFF05b", true},
	{"two dot leader", "\u2025", true},
	{"zero-width space", "a\u200Bb", true},
	{"right-to-left override", "a\u202Eb", true},
	{"byte order mark", "\uFEFFab", true},
	{"no-break space", "a\u00A0b", true},
	{"space", "a b", true},
	{"tab", "a\tb", true},
	{"line feed", "a\nb", true},
	{"NUL", "a\x00b", true},
	{"DEL", "a\x7fb", true},
	{"overlong", strings.Repeat("a", 10000), true},
	{"e acute", "é", false},
	{"cjk", "装置", false},
	{"semicolon", "a;b", false},
	{"odata key", "a'b(c)", false},
	{"plus equals amp", "a+b=c&d", false},
	{"dollar batch", "$batch", false},
	{"formula", "=1+1", false},
	{"at sign", "@a:b", false},
}

// hzRoute is the escaped path a request for these ids must have, built
// here independently of graph.ObjectPath. id "" gives the collection.
func hzRoute(app, user, id string) string {
	p := "/deviceAppManagement/mobileApps/" + url.PathEscape(app)
	if user != "" {
		p += "/userStatuses/" + url.PathEscape(user)
	}
	p += "/deviceStatuses"
	if id != "" {
		p += "/" + url.PathEscape(id)
	}
	return p
}

// hzSegments splits an escaped path and unescapes each segment once, as
// Graph's router does.
func hzSegments(t testing.TB, escaped string) []string {
	t.Helper()
	parts := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			t.Errorf("path %q: segment %q is badly escaped: %v", escaped, p, err)
		}
		parts[i] = u
	}
	return parts
}

// hzIDRow is one row's ids.
type hzIDRow struct{ app, user, id string }

// hzCheckRoutes fails unless every request went to one of rows' objects
// or collections, with a method that route serves, and every $batch item
// to one of the objects. It returns how many requests there were.
func hzCheckRoutes(t testing.TB, what string, rows []hzIDRow, reqs, items []string) int {
	t.Helper()
	allowed := map[string]bool{"POST /beta/$batch": true}
	itemOK := map[string]bool{}
	for _, r := range rows {
		obj := hzRoute(r.app, r.user, r.id)
		allowed["GET /beta"+obj] = true
		allowed["PATCH /beta"+obj] = true
		allowed["GET /beta"+hzRoute(r.app, r.user, "")] = true
		itemOK["PATCH "+obj] = true
	}
	for _, q := range reqs {
		if !allowed[q] {
			t.Errorf("%s: request %q is not one of the intended routes", what, q)
			continue
		}
		method, path, _ := strings.Cut(q, " ")
		if path == "/beta/$batch" {
			continue
		}
		// The same, read as the server's router reads it: each id is
		// exactly one segment and unescapes to itself.
		segs := hzSegments(t, path)
		found := false
		for _, r := range rows {
			want := []string{"beta", "deviceAppManagement", "mobileApps", r.app}
			if r.user != "" {
				want = append(want, "userStatuses", r.user)
			}
			want = append(want, "deviceStatuses")
			if slices.Equal(segs, want) && method == "GET" || slices.Equal(segs, append(want, r.id)) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: request %q splits into segments %q, which address none of the rows", what, q, segs)
		}
	}
	for _, it := range items {
		if !itemOK[it] {
			t.Errorf("%s: $batch item %q is not one of the intended routes", what, it)
		}
	}
	return len(reqs)
}

// hzSeed is a tenant holding rows' objects, in a state every row changes.
func hzSeed(rows []hzIDRow) *emulator.State {
	st := &emulator.State{}
	apps := map[string]*emulator.App{}
	var order []string
	for _, r := range rows {
		a := apps[r.app]
		if a == nil {
			a = &emulator.App{ID: r.app}
			apps[r.app] = a
			order = append(order, r.app)
		}
		s := emulator.Status{ID: r.id}
		s.Props[mais.PropertyIndex("installState")] = json.RawMessage(`"pendingInstall"`)
		if r.user == "" {
			a.DeviceStatuses = append(a.DeviceStatuses, s)
			continue
		}
		i := slices.IndexFunc(a.UserStatuses, func(u emulator.UserStatus) bool { return u.ID == r.user })
		if i < 0 {
			a.UserStatuses = append(a.UserStatuses, emulator.UserStatus{ID: r.user})
			i = len(a.UserStatuses) - 1
		}
		a.UserStatuses[i].DeviceStatuses = append(a.UserStatuses[i].DeviceStatuses, s)
	}
	for _, id := range order {
		st.MobileApps = append(st.MobileApps, *apps[id])
	}
	return st
}

func hzIDFile(t testing.TB, path string, rows []hzIDRow) string {
	t.Helper()
	recs := [][]string{{"mobileAppId", "userAppInstallStatusId", "mobileAppInstallStatusId", "installState", "displayVersion"}}
	for i, r := range rows {
		recs = append(recs, []string{r.app, r.user, r.id, "installed", fmt.Sprintf("1.%d", i)})
	}
	return hzWriteFile(t, path, hzCSV(t, recs))
}

// TestSteerHostileIDs puts each hostile id in each id column and runs
// validate, plan, plan --reconcile, apply (plain, --reconcile, --batch,
// --plan) against a recording server: either every command refuses the
// file with exit 3 and nothing is sent, or every request goes exactly to
// the intended route.
func TestSteerHostileIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, h := range hzHostileIDs {
		for _, col := range []string{"mobileAppId", "userAppInstallStatusId", "mobileAppInstallStatusId"} {
			t.Run(h.name+"/"+col, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				// Ten rows share a collection, so reconciliation lists it;
				// one.csv has a single row, read object by object.
				var rows []hzIDRow
				for i := range 10 {
					r := hzIDRow{"app-1", "", fmt.Sprintf("ds-%d", i)}
					switch col {
					case "mobileAppId":
						r.app = h.id
					case "userAppInstallStatusId":
						r.user = h.id
					case "mobileAppInstallStatusId":
						if i == 0 {
							r.id = h.id
						}
					}
					rows = append(rows, r)
				}
				many := hzIDFile(t, filepath.Join(dir, "many.csv"), rows)
				one := hzIDFile(t, filepath.Join(dir, "one.csv"), rows[:1])
				st := &emulator.State{}
				if !h.reject {
					st = hzSeed(rows)
				}
				rec, _, vars := hzServe(t, st, emulator.Options{}, "test-token")

				want := exitOK
				if h.reject {
					want = exitInvalid
				}
				planOut := filepath.Join(dir, "many.plan.json")
				runs := [][]string{
					{"validate", many},
					{"validate", one},
					{"plan", many},
					{"plan", many, "--out", planOut},
					hzArgs([]string{"plan", many, "--reconcile"}, hzFast),
					hzArgs([]string{"plan", one, "--reconcile"}, hzFast),
					hzArgs([]string{"apply", many, "--yes", "--results", filepath.Join(dir, "a.csv")}, hzFast),
					hzArgs([]string{"apply", many, "--yes", "--reconcile", "--results", filepath.Join(dir, "b.csv")}, hzFast),
					hzArgs([]string{"apply", one, "--yes", "--reconcile", "--results", filepath.Join(dir, "c.csv")}, hzFast),
					hzArgs([]string{"apply", many, "--yes", "--batch", "4", "--results", filepath.Join(dir, "d.csv")}, hzFast),
				}
				if !h.reject {
					runs = append(runs, hzArgs([]string{"apply", "--plan", planOut, "--results", filepath.Join(dir, "e.csv")}, hzFast))
				}
				for _, args := range runs {
					r := cli(t, ctx, vars, args...)
					what := strings.Join(args[:min(len(args), 3)], " ")
					if r.code != want {
						t.Errorf("%s: exit %d, want %d\n%s", what, r.code, want, hzTail(r.stderr))
					}
					if h.reject && !strings.Contains(r.stderr, col) {
						t.Errorf("%s: the refusal does not name the column %s:\n%s", what, col, hzTail(r.stderr))
					}
					reqs, items := rec.take()
					n := hzCheckRoutes(t, what, rows, reqs, items)
					switch {
					case h.reject && n > 0:
						t.Errorf("%s: %d requests sent for a refused file: %q", what, n, reqs)
					case !h.reject && n == 0 && (args[0] == "apply" || slices.Contains(args, "--reconcile")):
						t.Errorf("%s: sent nothing: the route was not exercised", what)
					}
				}
			})
		}
	}
}

// TestSteerTamperedPlan edits a saved plan so it addresses a hostile id:
// apply --plan must refuse it before sending anything.
func TestSteerTamperedPlan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	rows := []hzIDRow{{"app-1", "", "ds-0"}, {"app-1", "us-1", "ds-1"}}
	input := hzIDFile(t, filepath.Join(dir, "in.csv"), rows)
	rec, _, vars := hzServe(t, hzSeed(rows), emulator.Options{}, "test-token")
	planPath := filepath.Join(dir, "p.json")
	if r := cli(t, ctx, vars, "plan", input, "--out", planPath); r.code != exitOK {
		t.Fatalf("plan: exit %d\n%s", r.code, r.stderr)
	}
	orig, err := os.ReadFile(planPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hzHostileIDs {
		if !h.reject {
			continue
		}
		for _, field := range []string{"mobileAppId", "userAppInstallStatusId", "mobileAppInstallStatusId"} {
			old := map[string]string{"mobileAppId": `"mobileAppId":"app-1"`, "userAppInstallStatusId": `"userAppInstallStatusId":"us-1"`,
				"mobileAppInstallStatusId": `"mobileAppInstallStatusId":"ds-1"`}[field]
			q, _ := json.Marshal(h.id)
			tampered := strings.Replace(string(orig), old, `"`+field+`":`+string(q), 1)
			if tampered == string(orig) {
				t.Fatalf("the plan file has no %s: %s", old, orig)
			}
			p := hzWriteFile(t, filepath.Join(dir, "tampered.json"), tampered)
			r := cli(t, ctx, vars, hzArgs([]string{"apply", "--plan", p, "--results", filepath.Join(dir, "r.csv")}, hzFast)...)
			if r.code != exitInvalid || !strings.Contains(r.stderr, field) {
				t.Errorf("%s in %s: exit %d, want %d naming the field\n%s", h.name, field, r.code, exitInvalid, hzTail(r.stderr))
			}
			if reqs, _ := rec.take(); len(reqs) > 0 {
				t.Errorf("%s in %s: sent %q", h.name, field, reqs)
			}
		}
	}
}

// hzGraphRefuses says whether an id can never be a path segment at all
// (the Graph client's own guard, behind the input rules).
func hzGraphRefuses(id string) bool {
	if id == "" || id == "." || id == ".." || !utf8.ValidString(id) {
		return true
	}
	return strings.ContainsFunc(id, func(r rune) bool {
		return strings.ContainsRune(`/\?#%`, r) || unicode.IsSpace(r) || unicode.IsControl(r)
	})
}

// TestSteerExportIDs gives export hostile --app and --user-status values:
// either nothing is sent or every page request is for that collection.
func TestSteerExportIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, h := range hzHostileIDs {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			rows := []hzIDRow{{h.id, "", "ds-0"}, {"app-1", h.id, "ds-1"}}
			st := &emulator.State{}
			if !hzGraphRefuses(h.id) {
				st = hzSeed(rows)
			}
			rec, _, vars := hzServe(t, st, emulator.Options{PageSize: 1}, "test-token")
			for _, args := range [][]string{
				{"export", "--app", h.id},
				{"export", "--app", "app-1", "--user-status", h.id},
			} {
				r := cli(t, ctx, hzWith(vars), hzArgs(args, hzFast)...)
				reqs, items := rec.take()
				hzCheckRoutes(t, strings.Join(args[:3], " "), rows, reqs, items)
				for _, q := range reqs {
					if !strings.HasPrefix(q, "GET ") || strings.HasSuffix(q, "/ds-0") || strings.HasSuffix(q, "/ds-1") {
						t.Errorf("export sent %q: it reads collections only", q)
					}
				}
				if resource.CheckID(h.id) != "" {
					// Export's ids follow the input's id rules: a bad
					// argument, refused before anything is sent.
					if r.code != exitUsage || len(reqs) > 0 {
						t.Errorf("%q: exit %d with %d requests; want exit 2 with none\n%s", args, r.code, len(reqs), hzTail(r.stderr))
					}
					continue
				}
				if r.code != exitOK || len(reqs) < 2 {
					t.Errorf("%q: exit %d after %d requests, want 0 after paging (2+)\n%s", args, r.code, len(reqs), hzTail(r.stderr))
				}
			}
		})
	}
}
