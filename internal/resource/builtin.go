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

var builtins = []*Resource{MobileAppInstallStatus}
