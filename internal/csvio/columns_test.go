package csvio

// The tests read files with the columns of mobileAppInstallStatus, as
// bulkpatch configures them from internal/resource (csvio imports no
// package of bulkpatch, so the list is restated here).

// col is a column of the tests, an index into testColumns.
type col int

const (
	MobileAppID col = iota
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

var testColumns = []Column{
	{Name: "mobileAppId", Aliases: []string{"appId"}, Required: true},
	{Name: "userAppInstallStatusId", Aliases: []string{"userStatusId"}},
	{Name: "mobileAppInstallStatusId", Aliases: []string{"id", "statusId", "deviceStatusId"}, Required: true},
	{Name: "deviceName"}, {Name: "deviceId"}, {Name: "lastSyncDateTime"}, {Name: "mobileAppInstallStatusValue"},
	{Name: "installState"}, {Name: "installStateDetail"}, {Name: "errorCode"}, {Name: "osVersion"},
	{Name: "osDescription"}, {Name: "userName"}, {Name: "userPrincipalName"}, {Name: "displayVersion"},
}

func (c col) String() string {
	if c < 0 || int(c) >= len(testColumns) {
		return "column?"
	}
	return testColumns[c].Name
}

// opts fills in the test columns.
func opts(o ReaderOptions) ReaderOptions {
	if o.Columns == nil {
		o.Columns = testColumns
	}
	return o
}

// names returns the canonical names of o.Columns.
func (o ReaderOptions) names() []string {
	n := make([]string, len(o.Columns))
	for i, c := range o.Columns {
		n[i] = c.Name
	}
	return n
}

// ints converts columns to what Reader.Columns returns.
func ints(cs []col) []int {
	n := make([]int, len(cs))
	for i, c := range cs {
		n[i] = int(c)
	}
	return n
}
