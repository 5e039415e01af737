package realceph

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/ironfed/ironfed/providers/ceph/volume/rbd"
)

// TestVolumeClientUserIsRestricted uses a volume's access the way QEMU
// does, with cephx on: the handed-up user reads and writes the volume's
// image, but cannot touch another pool.
func TestVolumeClientUserIsRestricted(t *testing.T) {
	v, _ := openVolumes(t)
	ctx := t.Context()
	vol := newVolume(t, v, 16*mi)
	t.Cleanup(func() { _ = v.Delete(ctx, vol.GetMetadata().GetId()) })
	acc := vol.GetStatus().GetAccess()
	user, key := string(acc.GetSecretData()["userID"]), string(acc.GetSecretData()["userKey"])
	open := func(pool string) rbd.Conn {
		t.Helper()
		c, err := rbd.Open(ctx, rbd.Options{Monitors: acc.GetAttributes()["monitors"], User: user, Key: key, Pool: pool})
		if err != nil {
			t.Fatalf("connecting as client.%s to pool %s: %v", user, pool, err)
		}
		t.Cleanup(c.Close)
		return c
	}
	client := open(cluster.Pool)
	data := []byte("written with the restricted key")
	if err := client.WriteAt(ctx, imageOf(t, vol), nil, data, 0); err != nil {
		t.Fatalf("client.%s writing its volume: %v", user, err)
	}
	got := make([]byte, len(data))
	if err := client.ReadAt(ctx, imageOf(t, vol), nil, got, 0); err != nil || string(got) != string(data) {
		t.Errorf("client.%s reading its volume: %q, %v", user, got, err)
	}
	if out, err := exec.CommandContext(ctx, "ceph", "-c", cluster.ConfPath, "osd", "pool", "create", "other", "8").CombinedOutput(); err != nil {
		t.Fatalf("creating pool other: %v: %s", err, out)
	}
	if _, err := open("other").ListImages(ctx); err == nil {
		t.Errorf("client.%s listed the images of pool other; its caps should confine it to pool %s", user, cluster.Pool)
	}
	wrong, err := exec.CommandContext(ctx, "ceph-authtool", "--gen-print-key").Output()
	if err != nil {
		t.Fatal(err)
	}
	if c, err := rbd.Open(ctx, rbd.Options{Monitors: acc.GetAttributes()["monitors"], User: user, Key: strings.TrimSpace(string(wrong)), Pool: cluster.Pool, TimeoutSeconds: 5}); err == nil {
		c.Close()
		t.Error("another key connected as the client user: cephx is not enforced")
	}
}
