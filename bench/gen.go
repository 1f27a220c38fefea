package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// The generated input has the shape of an Intune export: a few apps,
// three rows in four on the direct deviceStatuses route and one in four
// through a user status shared by two devices, every listed property
// filled in (so that a naive peer that sends every cell sends valid JSON).
const numApps = 4

// genHeader is the header of every generated input.
var genHeader = []string{
	"mobileAppId", "userAppInstallStatusId", "mobileAppInstallStatusId",
	"deviceName", "installState", "installStateDetail", "errorCode",
	"lastSyncDateTime", "osVersion", "displayVersion", "userPrincipalName",
}

// rowOutcomes cycles through valid state, detail and error code triples.
var rowOutcomes = [...][3]string{
	{"installed", "noAdditionalDetails", "0"},
	{"failed", "seeInstallErrorCode", "-2016345060"},
	{"pendingInstall", "pendingReboot", "3010"},
	{"notInstalled", "userRejectedInstall", "0"},
}

// appendRow appends generated row i, in genHeader order, with its line
// end, to buf so that writing a million rows allocates almost nothing.
func appendRow(buf []byte, i int, direct bool) []byte {
	app, user, nested := rowIDs(i, direct)
	buf = appendAppID(buf, app)
	buf = append(buf, ',')
	if nested {
		buf = appendUserID(buf, user)
	}
	buf = append(buf, ',')
	buf = appendStatusID(buf, i)
	buf = append(buf, ",LAPTOP-"...)
	buf = appendHex(buf, uint64(i), 6)
	o := rowOutcomes[i%len(rowOutcomes)]
	buf = append(buf, ',')
	buf = append(buf, o[0]...)
	buf = append(buf, ',')
	buf = append(buf, o[1]...)
	buf = append(buf, ',')
	buf = append(buf, o[2]...)
	buf = append(buf, ",2026-03-01T"...)
	buf = append2(buf, (i/3600)%24)
	buf = append(buf, ':')
	buf = append2(buf, (i/60)%60)
	buf = append(buf, ':')
	buf = append2(buf, i%60)
	buf = append(buf, "Z,10.0.22631.3007,24.1."...)
	buf = strconv.AppendInt(buf, int64(i%100), 10)
	buf = append(buf, ",user"...)
	buf = strconv.AppendInt(buf, int64(user), 10)
	buf = append(buf, "@contoso.example\n"...)
	return buf
}

// rowIDs says which app row i belongs to, which user it is about and
// whether it takes the nested route (never, when direct is set).
func rowIDs(i int, direct bool) (app, user int, nested bool) {
	return i % numApps, i / 8, i%4 == 3 && !direct
}

func appendAppID(b []byte, app int) []byte {
	b = append(b, "5f0c3a1e-7d2b-4c8e-9a61-"...)
	return appendHex(b, uint64(app), 12)
}

func appendUserID(b []byte, user int) []byte {
	b = append(b, "u"...)
	b = appendHex(b, uint64(user), 7)
	return append(b, "-3b9d-4e2f-8c1a-6d5e4f3a2b1c"...)
}

func appendStatusID(b []byte, i int) []byte {
	b = appendHex(b, uint64(i)*2654435761%(1<<32), 8)
	b = append(b, "-7c1e-4b2a-9f3d-"...)
	return appendHex(b, uint64(i), 12)
}

func appendHex(b []byte, v uint64, width int) []byte {
	const digits = "0123456789abcdef"
	for shift := 4 * (width - 1); shift >= 0; shift -= 4 {
		b = append(b, digits[(v>>uint(shift))&0xf])
	}
	return b
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

// writeInput writes the header and rows 0..n-1 to w; direct puts every
// row on the direct route.
func writeInput(w io.Writer, n int, direct bool) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	for i, h := range genHeader {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(h)
	}
	bw.WriteByte('\n')
	buf := make([]byte, 0, 512)
	for i := range n {
		buf = appendRow(buf[:0], i, direct)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// genFile writes an n-row input to path.
func genFile(path string, n int, direct bool) error {
	return genWith(path, func(w io.Writer) error { return writeInput(w, n, direct) })
}

// genWith creates path and has write fill it.
func genWith(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("generating %s: %w", path, err)
	}
	return f.Close()
}

// writeByApp writes the rows of an n-row input (every row on the route
// writeInput gives it) grouped by app, each app's in input order, where
// writeInput deals them out to the apps in turn: the same rows, so that
// a collection's rows all come before the next collection's.
func writeByApp(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString(strings.Join(genHeader, ",") + "\n")
	buf := make([]byte, 0, 512)
	for app := range numApps {
		for i := app; i < n; i += numApps {
			buf = appendRow(buf[:0], i, false)
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

// genState is an emulator tenant holding every object rows 0..n-1
// address, with Graph's defaults for every property, so that each row's
// PATCH changes something.
func genState(n int) *emulator.State {
	st := &emulator.State{MobileApps: make([]emulator.App, numApps)}
	users := make([]map[int]int, numApps) // per app: user -> index in UserStatuses
	for a := range st.MobileApps {
		st.MobileApps[a].ID = string(appendAppID(nil, a))
		users[a] = map[int]int{}
	}
	for i := range n {
		a, u, nested := rowIDs(i, false)
		app := &st.MobileApps[a]
		s := emulator.Status{ID: string(appendStatusID(nil, i))}
		if !nested {
			app.DeviceStatuses = append(app.DeviceStatuses, s)
			continue
		}
		k, ok := users[a][u]
		if !ok {
			k = len(app.UserStatuses)
			users[a][u] = k
			app.UserStatuses = append(app.UserStatuses, emulator.UserStatus{ID: string(appendUserID(nil, u))})
		}
		app.UserStatuses[k].DeviceStatuses = append(app.UserStatuses[k].DeviceStatuses, s)
	}
	return st
}

// otherApp is the app whose statuses the bench's second client writes
// (figure 8), apart from every generated row's; otherObjects is how many.
const (
	otherApp     = "0ther000-0000-4000-8000-5ec0ndc11e47"
	otherObjects = 64
)

// withOther adds otherApp and its statuses to st.
func withOther(st *emulator.State) *emulator.State {
	app := emulator.App{ID: otherApp}
	for i := range otherObjects {
		app.DeviceStatuses = append(app.DeviceStatuses, emulator.Status{ID: fmt.Sprintf("other-%02d", i)})
	}
	st.MobileApps = append(st.MobileApps, app)
	return st
}

// exactRows counts the generated rows 0..n-1 whose object on srv holds
// exactly what the row says: the state a run was asked to leave.
func exactRows(srv *emulator.Server, n int) int {
	ok := 0
	var buf []byte
	for i := range n {
		buf = appendRow(buf[:0], i, false)
		cells := strings.Split(strings.TrimSuffix(string(buf), "\n"), ",")
		if obj, found := srv.Object(cells[0], cells[1], cells[2]); found && rowMatches(obj, cells) {
			ok++
		}
	}
	return ok
}

// rowMatches reports whether obj holds the property cells of a generated
// row (in genHeader order).
func rowMatches(obj map[string]any, cells []string) bool {
	for k := 3; k < len(genHeader); k++ {
		name, want := genHeader[k], cells[k]
		switch got := obj[name]; name {
		case "errorCode":
			f, ok := got.(float64)
			n, err := strconv.Atoi(want)
			if !ok || err != nil || f != float64(n) {
				return false
			}
		case "lastSyncDateTime":
			s, _ := got.(string)
			a, err1 := time.Parse(time.RFC3339Nano, s)
			b, err2 := time.Parse(time.RFC3339Nano, want)
			if err1 != nil || err2 != nil || !a.Equal(b) {
				return false
			}
		default:
			if s, _ := got.(string); s != want {
				return false
			}
		}
	}
	return true
}

// Figure 10's input: managedDevice rows (resource.ManagedDevice) that
// give each device a name, a note and an owner, against a tenant holding
// the devices with Graph's defaults, so that every row's PATCH changes
// something.

// devicesHeader is the header of the generated managedDevice input, as
// `bulkpatch resources managedDevice --template` prints it.
var devicesHeader = []string{"id", "managedDeviceName", "notes", "ownerType"}

// deviceID is the id of generated device i.
func deviceID(i int) string {
	b := appendHex(nil, uint64(i)*2654435761%(1<<32), 8)
	b = append(b, "-0d5e-4a7c-8b1f-"...)
	return string(appendHex(b, uint64(i), 12))
}

// deviceCells are generated device row i's cells, in devicesHeader order.
func deviceCells(i int) []string {
	owner := "company"
	if i%3 == 2 {
		owner = "personal"
	}
	return []string{deviceID(i), fmt.Sprintf("DESKTOP-%06X", i), fmt.Sprintf("asset tag %d", 100000+i), owner}
}

// writeDevices writes a managedDevice input of n rows to w.
func writeDevices(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString(strings.Join(devicesHeader, ",") + "\n")
	for i := range n {
		bw.WriteString(strings.Join(deviceCells(i), ",") + "\n")
	}
	return bw.Flush()
}

// devicesState is an emulator tenant holding the n generated devices,
// each with only its id set (Graph's defaults for the rest).
func devicesState(n int) *emulator.State {
	recs := make([]emulator.Record, n)
	for i := range recs {
		id, _ := json.Marshal(deviceID(i))
		recs[i] = emulator.Record{"id": id}
	}
	return &emulator.State{Resources: map[string][]emulator.Record{resource.ManagedDevice.Name: recs}}
}

// exactDevices counts the generated devices 0..n-1 that hold exactly
// what their row says.
func exactDevices(srv *emulator.Server, n int) int {
	ok := 0
	for i := range n {
		cells := deviceCells(i)
		obj, found := srv.Lookup(resource.ManagedDevice, resource.Key{cells[0]})
		if !found {
			continue
		}
		same := true
		for k := 1; k < len(devicesHeader); k++ {
			if s, _ := obj[devicesHeader[k]].(string); s != cells[k] {
				same = false
			}
		}
		if same {
			ok++
		}
	}
	return ok
}
