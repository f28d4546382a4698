#!/bin/sh
# azd postprovision hook: tells the admin what is left to do outside Azure.
# azd exports the Bicep outputs (AZURE_*) as environment variables.
cat <<MSG

Cloud Backup for Dynamics 365 is provisioned.

  Function App:      ${AZURE_FUNCTION_APP_NAME}
  API:               ${AZURE_FUNCTION_API_URL}
  Managed identity:  ${AZURE_MANAGED_IDENTITY_NAME}
    client (application) id: ${AZURE_MANAGED_IDENTITY_CLIENT_ID}

Next, in the Power Platform admin center, for EVERY environment to back up:
  1. https://admin.powerplatform.microsoft.com > Manage > Environments > <environment>
  2. Settings > Users + permissions > Application users > + New app user
  3. + Add an app: search for ${AZURE_MANAGED_IDENTITY_CLIENT_ID}
     (the managed identity ${AZURE_MANAGED_IDENTITY_NAME}), choose the business unit,
     security role: System Administrator. Create.
  4. Register the environment with the API (POST ${AZURE_FUNCTION_API_URL}/connections).

MSG
if [ "${AUTH_ENABLED}" = "true" ]; then
  echo "App Service Authentication is on: assign users the app roles (Backup.Reader, Backup.Operator,"
  echo "Restore.Operator, Backup.Admin) of app registration ${AUTH_CLIENT_ID} in Entra ID > Enterprise applications."
else
  echo "App Service Authentication is OFF: the HTTP API relies on each function's authLevel only (see functions/*/function.json)."
  echo "Turn it on with: azd env set ENABLE_AUTH true; azd env set AUTH_CLIENT_ID <app id>; azd provision"
fi
