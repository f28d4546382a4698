package config

// Setting describes one environment variable (app setting) the handler reads.
// The list is the single source for the README's configuration reference, for
// local.settings.sample.json and for the infra tests that check every setting
// required in Azure is set on the Function App.
type Setting struct {
	Name        string
	Default     string
	Description string
	// RequiredInAzure marks settings the Function App must define in Azure
	// (directly, or as one of several alternative forms named in AlternativeOf).
	RequiredInAzure bool
	// Secret marks values that must never be logged or echoed.
	Secret bool
}

// App-setting names. Identity-based connection settings follow the Functions
// host convention <Connection>__<property>.
const (
	EnvHandlerPort = "FUNCTIONS_CUSTOMHANDLER_PORT"

	EnvStorage            = "AzureWebJobsStorage"
	EnvStorageAccountName = "AzureWebJobsStorage__accountName"
	EnvStorageBlobURI     = "AzureWebJobsStorage__blobServiceUri"
	EnvStorageQueueURI    = "AzureWebJobsStorage__queueServiceUri"
	EnvStorageTableURI    = "AzureWebJobsStorage__tableServiceUri"
	EnvStorageCredential  = "AzureWebJobsStorage__credential"
	EnvStorageClientID    = "AzureWebJobsStorage__clientId"

	EnvMessagingTransport = "MESSAGING_TRANSPORT"
	EnvServiceBus         = "ServiceBusConnection"
	EnvServiceBusFQNS     = "ServiceBusConnection__fullyQualifiedNamespace"
	EnvServiceBusCred     = "ServiceBusConnection__credential"
	EnvServiceBusClientID = "ServiceBusConnection__clientId"

	EnvAzureClientID = "AZURE_CLIENT_ID"

	EnvBackupSchedule    = "BACKUP_SCHEDULE"
	EnvRetentionSchedule = "RETENTION_SCHEDULE"

	EnvKeyVaultURL = "KEY_VAULT_URL"

	EnvMaxDeliveryCount = "BACKUP_MAX_DELIVERY_COUNT"

	EnvDataverseExtraCA      = "DATAVERSE_EXTRA_CA_FILE"
	EnvDataverseAllowedHosts = "DATAVERSE_ALLOWED_HOSTS"

	EnvLogLevel = "LOG_LEVEL"

	// Connections and the admin API.
	EnvAPIAuthorization      = "API_AUTHORIZATION"
	EnvEntraAuthorityHost    = "ENTRA_AUTHORITY_HOST"
	EnvDiscoveryURL          = "DATAVERSE_DISCOVERY_URL"
	EnvPowerPlatformAdminURL = "POWERPLATFORM_ADMIN_URL"
	EnvGraphURL              = "GRAPH_URL"
	EnvDiscoveryEnableNew    = "DISCOVERY_ENABLE_NEW"
	EnvLocalSecretsDir       = "LOCAL_SECRETS_DIR"

	// Set by App Service / Azure Functions on every instance; their presence
	// means "running in Azure", where local-only shortcuts are refused.
	EnvWebsiteSiteName = "WEBSITE_SITE_NAME"
)

// Defaults.
const (
	DefaultBackupSchedule    = "0 0 2 * * *"  // 02:00 UTC daily
	DefaultRetentionSchedule = "0 30 3 * * *" // 03:30 UTC daily
	TransportServiceBus      = "servicebus"
	TransportStorageQueue    = "storagequeue"

	// API_AUTHORIZATION values.
	AuthEasyAuth    = "easyauth"
	AuthFunctionKey = "functionkey"
	AuthLocalAdmin  = "local-admin"
)

// Settings lists every setting the handler reads, with its default and purpose.
func Settings() []Setting {
	return []Setting{
		{Name: EnvHandlerPort, Description: "Port the custom handler listens on; set by the Functions host (and the dev host)."},
		{Name: EnvStorage, Secret: true, Description: "Storage connection string (local runs against Azurite). In Azure use the identity-based AzureWebJobsStorage__* settings instead."},
		{Name: EnvStorageAccountName, RequiredInAzure: true, Description: "Storage account name for identity-based access (blob, queue and table endpoints derived from it)."},
		{Name: EnvStorageBlobURI, Description: "Blob endpoint override for identity-based access."},
		{Name: EnvStorageQueueURI, Description: "Queue endpoint override for identity-based access."},
		{Name: EnvStorageTableURI, Description: "Table endpoint override for identity-based access."},
		{Name: EnvStorageCredential, RequiredInAzure: true, Default: "managedidentity", Description: "Credential kind for identity-based storage access."},
		{Name: EnvStorageClientID, RequiredInAzure: true, Description: "Client id of the user-assigned managed identity used for storage."},
		{Name: EnvMessagingTransport, Default: TransportServiceBus, RequiredInAzure: true, Description: "servicebus (Azure) or storagequeue (local runs: Azurite queues stand in for Service Bus)."},
		{Name: EnvServiceBus, Secret: true, Description: "Service Bus connection string (only where identity-based access is impossible)."},
		{Name: EnvServiceBusFQNS, RequiredInAzure: true, Description: "Service Bus namespace host, e.g. sb-xyz.servicebus.windows.net (identity-based)."},
		{Name: EnvServiceBusCred, RequiredInAzure: true, Default: "managedidentity", Description: "Credential kind for identity-based Service Bus access."},
		{Name: EnvServiceBusClientID, RequiredInAzure: true, Description: "Client id of the user-assigned managed identity used for Service Bus."},
		{Name: EnvAzureClientID, RequiredInAzure: true, Description: "Client id of the user-assigned managed identity (picked up by azidentity)."},
		{Name: EnvBackupSchedule, Default: DefaultBackupSchedule, RequiredInAzure: true, Description: "NCRONTAB (six fields) for ScheduleBackups, the scheduler's tick (the host resolves %BACKUP_SCHEDULE% from it). An environment without a schedule of its own is backed up at every tick; one with a policy schedule at the first tick at or after each of its occurrences, so set the tick at least as often as the most frequent policy schedule (e.g. 0 */15 * * * *)."},
		{Name: EnvRetentionSchedule, Default: DefaultRetentionSchedule, RequiredInAzure: true, Description: "NCRONTAB (six fields) for ApplyRetention."},
		{Name: EnvMaxDeliveryCount, Default: "10", RequiredInAzure: true, Description: "The queues' max delivery count (Service Bus maxDeliveryCount). On the last delivery a failing page marks its table failed with the reason instead of failing once more into the dead-letter queue, so this must equal the queues' setting."},
		{Name: EnvKeyVaultURL, RequiredInAzure: true, Description: "Key Vault URL holding connection secrets. Required in Azure; locally a dev-only encrypted store is used when unset."},
		{Name: EnvDataverseExtraCA, Description: "PEM file with an extra CA to trust for Dataverse/Entra endpoints (the local simulator). Used only when set."},
		{Name: EnvDataverseAllowedHosts, Description: "Comma-separated extra Dataverse hosts (host or host:port) allowed besides the Microsoft cloud domains (the local simulator)."},
		{Name: EnvLogLevel, Default: "info", Description: "debug, info, warn or error."},
		{Name: EnvAPIAuthorization, Default: AuthEasyAuth, Description: "How the admin API authorizes callers: easyauth (roles from the X-MS-CLIENT-PRINCIPAL header of App Service Authentication, which must be on), functionkey (Easy Auth off: the function key alone grants every role; principal headers are ignored since they could be forged) or local-admin (local runs only, refused in Azure: a request without a principal gets every role, a principal sent is honoured)."},
		{Name: EnvEntraAuthorityHost, Default: "https://login.microsoftonline.com/", Description: "Entra ID authority host for connection credentials (the simulator locally; national clouds in Azure)."},
		{Name: EnvDiscoveryURL, Default: "https://globaldisco.crm.dynamics.com", Description: "Global Discovery Service root used to discover environments of service-account connections."},
		{Name: EnvPowerPlatformAdminURL, Default: "https://api.bap.microsoft.com", Description: "Power Platform admin API root used to discover environments of app-profile connections."},
		{Name: EnvGraphURL, Default: "https://graph.microsoft.com", Description: "Microsoft Graph root used to check a service account's directory roles."},
		{Name: EnvDiscoveryEnableNew, Default: "false", Description: "true registers newly discovered environments with backups enabled; by default they wait for an admin to enable them."},
		{Name: EnvLocalSecretsDir, Default: ".localsecrets", Description: "Directory of the dev-only encrypted secret store used when KEY_VAULT_URL is unset (refused in Azure)."},
	}
}
