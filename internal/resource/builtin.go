package resource

import "net/http"

// The enums of mobileAppInstallStatus, from Microsoft's 2026 schema (see
// shared/docs/graph-api.md).
var (
	// ResultantAppState has no unknownFutureValue member.
	ResultantAppState = newEnum("resultantAppState",
		"installed", "failed", "notInstalled", "uninstallFailed", "pendingInstall",
		"unknown", "notApplicable")
	// ResultantAppStateDetail keeps growing (11, then 27, now 36 members).
	ResultantAppStateDetail = newEnum("resultantAppStateDetail",
		"noAdditionalDetails", "dependencyFailedToInstall", "dependencyWithRequirementsNotMet",
		"dependencyPendingReboot", "dependencyWithAutoInstallDisabled", "supersededAppUninstallFailed",
		"supersededAppUninstallPendingReboot", "removingSupersededApps", "iosAppStoreUpdateFailedToInstall",
		"vppAppHasUpdateAvailable", "userRejectedUpdate", "uninstallPendingReboot",
		"supersedingAppsDetected", "supersededAppsDetected", "seeInstallErrorCode",
		"autoInstallDisabled", "managedAppNoLongerPresent", "userRejectedInstall",
		"userIsNotLoggedIntoAppStore", "untargetedSupersedingAppsDetected", "appRemovedBySupersedence",
		"seeUninstallErrorCode", "pendingReboot", "installingDependencies",
		"contentDownloaded", "supersedingAppsNotApplicable", "powerShellScriptRequirementNotMet",
		"registryRequirementNotMet", "fileSystemRequirementNotMet", "platformNotApplicable",
		"minimumCpuSpeedNotMet", "minimumLogicalProcessorCountNotMet", "minimumPhysicalMemoryNotMet",
		"minimumOsVersionNotMet", "minimumDiskSpaceNotMet", "processorArchitectureNotApplicable")
)

// MobileAppInstallStatus is an app's install status on one device, read
// and written through the app's deviceStatuses, or through one of its
// userStatuses. Its properties are listed in Graph's documented order.
var MobileAppInstallStatus = prepare(&Resource{
	Name: "mobileAppInstallStatus",
	Keys: []KeyColumn{
		{Name: "mobileAppId", Noun: "mobile app", Aliases: []string{"appId"}},
		{Name: "userAppInstallStatusId", Noun: "user status", Aliases: []string{"userStatusId"}},
		{Name: "mobileAppInstallStatusId", Noun: "device status", Aliases: []string{"id", "statusId", "deviceStatusId"}},
	},
	Properties: []Property{
		{Name: "deviceName", Kind: String, Nullable: true},
		{Name: "deviceId", Kind: String, Nullable: true},
		{Name: "lastSyncDateTime", Kind: DateTime},
		{Name: "mobileAppInstallStatusValue", Kind: Enum, Enum: ResultantAppState},
		{Name: "installState", Kind: Enum, Enum: ResultantAppState},
		{Name: "installStateDetail", Kind: Enum, Enum: ResultantAppStateDetail},
		{Name: "errorCode", Kind: Int32},
		{Name: "osVersion", Kind: String, Nullable: true},
		{Name: "osDescription", Kind: String, Nullable: true},
		{Name: "userName", Kind: String, Nullable: true},
		{Name: "userPrincipalName", Kind: String, Nullable: true},
		{Name: "displayVersion", Kind: String, Nullable: true},
	},
	Routes: []Route{
		{Name: "by device status", Object: "/deviceAppManagement/mobileApps/{mobileAppId}/deviceStatuses/{mobileAppInstallStatusId}"},
		{Name: "through a user status", Object: "/deviceAppManagement/mobileApps/{mobileAppId}/userStatuses/{userAppInstallStatusId}/deviceStatuses/{mobileAppInstallStatusId}"},
	},
	Method:      http.MethodPatch,
	Permission:  "DeviceManagementApps.ReadWrite.All",
	DefaultRate: 5, // Intune apps: 100 writes per 20 s per app registration
})

// ManagedDeviceOwnerType is managedDevice's ownerType.
var ManagedDeviceOwnerType = newEnum("managedDeviceOwnerType", "unknown", "company", "personal")

// ManagedDevice is a device Intune manages. Of its properties, only these
// three are writable by PATCH: deviceName is read-only (a PATCH of it
// answers 500; managedDeviceName is the writable name), and notes comes
// back only when a read selects it.
var ManagedDevice = prepare(&Resource{
	Name: "managedDevice",
	Keys: []KeyColumn{{Name: "id", Noun: "managed device", Aliases: []string{"managedDeviceId"}}},
	Properties: []Property{
		{Name: "managedDeviceName", Kind: String},
		{Name: "notes", Kind: String, Nullable: true},
		{Name: "ownerType", Kind: Enum, Enum: ManagedDeviceOwnerType},
	},
	Routes:      []Route{{Name: "by id", Object: "/deviceManagement/managedDevices/{id}"}},
	Method:      http.MethodPatch,
	Select:      true,
	Permission:  "DeviceManagementManagedDevices.ReadWrite.All",
	DefaultRate: 10, // Intune devices: 200 writes per 20 s per app registration
})

// WindowsAutopilotDeviceIdentity is a device registered for Windows
// Autopilot. It is not PATCHed: the updateDeviceProperties action takes
// the properties and answers 204.
var WindowsAutopilotDeviceIdentity = prepare(&Resource{
	Name: "windowsAutopilotDeviceIdentity",
	Keys: []KeyColumn{{Name: "id", Noun: "Autopilot device", Aliases: []string{"windowsAutopilotDeviceIdentityId", "autopilotId"}}},
	Properties: []Property{
		{Name: "groupTag", Kind: String, Nullable: true},
		{Name: "displayName", Kind: String, Nullable: true},
		{Name: "userPrincipalName", Kind: String, Nullable: true},
		{Name: "addressableUserName", Kind: String, Nullable: true},
	},
	Routes: []Route{{Name: "by id", Object: "/deviceManagement/windowsAutopilotDeviceIdentities/{id}",
		Write: "/deviceManagement/windowsAutopilotDeviceIdentities/{id}/updateDeviceProperties"}},
	Method:      http.MethodPost,
	Permission:  "DeviceManagementServiceConfig.ReadWrite.All",
	DefaultRate: 5, // not published; taken as Intune enrollment: 100 writes per 20 s per app
})

// DeviceCategory is a category devices are put in.
var DeviceCategory = prepare(&Resource{
	Name: "deviceCategory",
	Keys: []KeyColumn{{Name: "id", Noun: "device category", Aliases: []string{"deviceCategoryId", "categoryId"}}},
	Properties: []Property{
		{Name: "displayName", Kind: String},
		{Name: "description", Kind: String, Nullable: true},
	},
	Routes:      []Route{{Name: "by id", Object: "/deviceManagement/deviceCategories/{id}"}},
	Method:      http.MethodPatch,
	Permission:  "DeviceManagementManagedDevices.ReadWrite.All",
	DefaultRate: 5, // Intune enrollment: 100 writes per 20 s per app registration
})

var builtins = []*Resource{MobileAppInstallStatus, ManagedDevice, WindowsAutopilotDeviceIdentity, DeviceCategory}
