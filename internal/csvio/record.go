package csvio

// Column identifies one known input column. The three ids come first; the
// twelve property columns follow in the order of schema.Properties (csvio
// does not import schema; a test keeps the two lists equal).
type Column int

// The known columns.
const (
	MobileAppID Column = iota
	UserAppInstallStatusID
	MobileAppInstallStatusID
	DeviceName
	DeviceID
	LastSyncDateTime
	MobileAppInstallStatusValue
	InstallState
	InstallStateDetail
	ErrorCode
	OSVersion
	OSDescription
	UserName
	UserPrincipalName
	DisplayVersion

	NumColumns = iota
)

// FirstProperty is the first property column; Column(FirstProperty+i) is
// schema.Properties[i].
const FirstProperty = DeviceName

var columnNames = [NumColumns]string{
	"mobileAppId", "userAppInstallStatusId", "mobileAppInstallStatusId",
	"deviceName", "deviceId", "lastSyncDateTime", "mobileAppInstallStatusValue",
	"installState", "installStateDetail", "errorCode", "osVersion",
	"osDescription", "userName", "userPrincipalName", "displayVersion",
}

// String returns the column's canonical header name, e.g. "mobileAppId".
func (c Column) String() string {
	if c < 0 || int(c) >= NumColumns {
		return "column?"
	}
	return columnNames[c]
}

// Record is one data row of the input.
type Record struct {
	// Line is the physical line (1-based, counting a sep= line and the
	// header) on which the record starts, also after quoted cells that span
	// lines.
	Line int
	// Cells holds each known column's cell, "" when the cell is empty or
	// the column is absent from the file.
	Cells [NumColumns]string
}
