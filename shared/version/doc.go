// Package version holds the build version, set at link time:
//
//	go build -ldflags "-X github.com/cloudbackup-d365/cloudbackup/shared/version.Version=v1.2.3"
package version
