// Package plantest has in-memory implementations of plan.Source and
// plan.Target for planner unit tests, and VerifyTarget, the conformance
// suite every plan.Target passes (the in-memory one here, the Dataverse one
// in shared/restore against the simulator).
package plantest
