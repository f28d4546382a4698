# azd postprovision hook (Windows): tells the admin what is left to do outside Azure.
$api = $env:AZURE_FUNCTION_API_URL
$clientId = $env:AZURE_MANAGED_IDENTITY_CLIENT_ID
$identity = $env:AZURE_MANAGED_IDENTITY_NAME
Write-Host ""
Write-Host "Cloud Backup for Dynamics 365 is provisioned."
Write-Host ""
Write-Host "  Function App:      $($env:AZURE_FUNCTION_APP_NAME)"
Write-Host "  API:               $api"
Write-Host "  Managed identity:  $identity"
Write-Host "    client (application) id: $clientId"
Write-Host ""
Write-Host "Next, in the Power Platform admin center, for EVERY environment to back up:"
Write-Host "  1. https://admin.powerplatform.microsoft.com > Manage > Environments > <environment>"
Write-Host "  2. Settings > Users + permissions > Application users > + New app user"
Write-Host "  3. + Add an app: search for $clientId"
Write-Host "     (the managed identity $identity), choose the business unit,"
Write-Host "     security role: System Administrator. Create."
Write-Host "  4. Register the environment with the API (POST $api/connections)."
Write-Host ""
if ($env:AUTH_ENABLED -eq "true") {
  Write-Host "App Service Authentication is on: assign users the app roles (Backup.Reader, Backup.Operator,"
  Write-Host "Restore.Operator, Backup.Admin) of app registration $($env:AUTH_CLIENT_ID) in Entra ID > Enterprise applications."
} else {
  Write-Host "App Service Authentication is OFF: the HTTP API relies on each function's authLevel only (see functions/*/function.json)."
  Write-Host "Turn it on with: azd env set ENABLE_AUTH true; azd env set AUTH_CLIENT_ID <app id>; azd provision"
}
