package version

// Version is the release or commit the binary was built from.
var Version = "dev"
