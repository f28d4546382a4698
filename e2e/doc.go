// Package e2e holds end-to-end tests of the deployable package: they build
// it with `make build` exactly as azd does, check its layout, and run it under
// the dev host against real Azurite. The tests of the whole stack with the
// Dataverse simulator live in testkit/backupdemo.
package e2e
