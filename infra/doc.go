// Package infra holds the Azure deployment (Bicep templates deployed by azd)
// and the tests that check them against the Go code, because no Bicep compiler
// can run where this project is built.
//
// The tests read the templates as text through a small Bicep reader (bicep.go):
// it masks comments and string contents so braces in strings do not count,
// finds resource, module, param, var and output declarations, and walks object
// literals. The checks then compare the templates with the single sources of
// names in the code: config.Settings() (app settings), messaging.Queues()
// (Service Bus queues), messaging.ConnectionSetting, and the function.json
// files. Mutation tests feed deliberately broken copies of the templates to the
// same checks to prove each check can fail.
package infra
