package libvirt

import (
	"strings"
	"testing"
)

func TestDomainMetaRoundTrip(t *testing.T) {
	in := domainMeta{Owner: "/root/x", ImageDigest: "sha256:abc", Machine: `{"metadata":{"id":"x<&>"}}`}
	s, err := in.marshal(false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, "<ironfed:machine ") || !strings.Contains(s, `xmlns:ironfed="`+MetadataURI+`"`) {
		t.Fatalf("metadata element %s: want ironfed:machine in namespace %s", s, MetadataURI)
	}
	out, err := parseDomainMeta(s)
	if err != nil {
		t.Fatal(err)
	}
	if out.Owner != in.Owner || out.ImageDigest != in.ImageDigest || out.Machine != in.Machine {
		t.Fatalf("round trip: got %+v, want %+v", out, in)
	}
}
