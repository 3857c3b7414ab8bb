// Pins the Gateway API releases whose CRDs (config/crd/) the local provider can
// install. go.sum holds the checksum of each release's module, so the CRDs come
// from the Go module proxy verified, never from an unpinned download.
module portcullis.dev/tools/gateway-api

go 1.26.0
