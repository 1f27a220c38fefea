package plan

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// TestShowEscapesDisguises: what plan prints cannot be disguised by the
// characters a cell may hold.
func TestShowEscapesDisguises(t *testing.T) {
	res := resource.MobileAppInstallStatus
	op := Op{Line: 2, Res: res, Key: resource.Key{"a", "", "s"}}
	op.Props[res.PropertyIndex("deviceName")] = Value{Intent: Set, Str: "evil\u202etxt.exe\x1b[31m"}
	var b bytes.Buffer
	ShowOp(&b, &op, op.AppendBody(nil))
	ShowChanges(&b, &op, []Change{{Property: "deviceName", Old: []byte(`"x\u2066"`), New: op.AppendBody(nil)}})
	out := b.String()
	if strings.ContainsAny(out, "\u202e\u2066\x1b") {
		t.Errorf("plan output carries a raw control or bidi character: %q", out)
	}
	if !strings.Contains(out, `evil\u202etxt.exe\u001b[31m`) {
		t.Errorf("plan output does not show the escapes: %q", out)
	}
}
