// Package conformance runs the official Gateway API conformance suite against
// Portcullis. `npm run conformance:upstream` brings the local cluster up and runs
// this test with the suite's own flags (see scripts/conformance-upstream.ts).
package conformance

import (
	"os"
	"testing"

	"sigs.k8s.io/gateway-api/conformance"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
)

func TestPortcullisConformance(t *testing.T) {
	opts := conformance.DefaultOptions(t)
	fillImplementation(&opts.Implementation)
	conformance.RunConformanceWithOptions(t, opts)
}

// fillImplementation names Portcullis in the report wherever the suite's own flags
// (--organization, --project, --url, --version, --contact) left a field empty.
func fillImplementation(impl *confv1.Implementation) {
	setIfEmpty(&impl.Organization, "portcullis")
	setIfEmpty(&impl.Project, "portcullis")
	setIfEmpty(&impl.URL, "https://github.com/portcullis-dev/portcullis")
	setIfEmpty(&impl.Version, os.Getenv("PORTCULLIS_VERSION"))
	setIfEmpty(&impl.Version, "dev")
	if len(impl.Contact) == 0 {
		impl.Contact = []string{"@portcullis-dev/maintainers"}
	}
}

func setIfEmpty(field *string, value string) {
	if *field == "" {
		*field = value
	}
}
