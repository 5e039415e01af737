package labels

import "testing"

// The keys are a wire contract with IronCore upstream: spell them out here so
// that a change to a constant shows up as a failing test, not a silent drift.
func TestKeysMatchUpstream(t *testing.T) {
	cases := []struct {
		kind                       Kind
		uid, namespace, name, down string
	}{
		{Machine, "machinepoollet.ironcore.dev/machine-uid", "machinepoollet.ironcore.dev/machine-namespace",
			"machinepoollet.ironcore.dev/machine-name", "downward-api.machinepoollet.ironcore.dev/"},
		{Volume, "volumepoollet.ironcore.dev/volume-uid", "volumepoollet.ironcore.dev/volume-namespace",
			"volumepoollet.ironcore.dev/volume-name", "downward-api.volumepoollet.ironcore.dev/"},
		{VolumeSnapshot, "volumepoollet.ironcore.dev/volume-snapshot-uid", "volumepoollet.ironcore.dev/volume-snapshot-namespace",
			"volumepoollet.ironcore.dev/volume-snapshot-name", "downward-api.volumepoollet.ironcore.dev/volume-snapshot-"},
		{Bucket, "bucketpoollet.ironcore.dev/bucket-uid", "bucketpoollet.ironcore.dev/bucket-namespace",
			"bucketpoollet.ironcore.dev/bucket-name", "downward-api.bucketpoollet.ironcore.dev/"},
	}
	if len(cases) != len(Kinds) {
		t.Fatalf("Kinds has %d entries, test covers %d", len(Kinds), len(cases))
	}
	for _, c := range cases {
		if got := UIDLabel(c.kind); got != c.uid {
			t.Errorf("UIDLabel(%s) = %q, want %q", c.kind, got, c.uid)
		}
		if got := NamespaceLabel(c.kind); got != c.namespace {
			t.Errorf("NamespaceLabel(%s) = %q, want %q", c.kind, got, c.namespace)
		}
		if got := NameLabel(c.kind); got != c.name {
			t.Errorf("NameLabel(%s) = %q, want %q", c.kind, got, c.name)
		}
		if got := DownwardAPIPrefix(c.kind); got != c.down {
			t.Errorf("DownwardAPIPrefix(%s) = %q, want %q", c.kind, got, c.down)
		}
	}
	if MachineGenerationAnnotation != "machinepoollet.ironcore.dev/machine-generation" ||
		IRIMachineGenerationAnnotation != "machinepoollet.ironcore.dev/irimachine-generation" {
		t.Errorf("generation annotations drifted from upstream: %q, %q", MachineGenerationAnnotation, IRIMachineGenerationAnnotation)
	}
}

func TestDownwardAPILabel(t *testing.T) {
	if got, want := DownwardAPILabel(Machine, "root-machine-uid"), "downward-api.machinepoollet.ironcore.dev/root-machine-uid"; got != want {
		t.Errorf("DownwardAPILabel = %q, want %q", got, want)
	}
	if got := DownwardAPILabel(Kind("nic"), "x"); got != "" {
		t.Errorf("unknown kind: got %q, want empty", got)
	}
	if got := UIDLabel(Kind("nic")); got != "" {
		t.Errorf("unknown kind: got %q, want empty", got)
	}
}
