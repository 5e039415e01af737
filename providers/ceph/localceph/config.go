package localceph

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// MonHost is where the one-node mon listens by default: Ceph's default ports
// on loopback (msgr2 3300, msgr1 6789). A non-default port leaves the mon at
// rank -1 and every client hanging, which is why only one such cluster can
// run per address at a time (see acquireLock); Options.Address puts one on
// another local address.
const (
	MonHost   = "127.0.0.1"
	MonPortV1 = 6789
	MonPortV2 = 3300
)

// MonAddr is the msgr1 address clients such as QEMU's librbd are given.
var MonAddr = fmt.Sprintf("%s:%d", MonHost, MonPortV1)

// conf renders ceph.conf: auth none (or cephx with one keyring holding
// every daemon's key), size-1 pools, memstore, every path under dir, the
// mon on addr. On another address than MonHost every daemon binds addr
// (public and cluster addr; unset, the OSD binds its cluster and heartbeat
// ports on every address), so that its mgr and OSD are reached there and
// it shares no socket with a loopback cluster; the loopback cluster's
// config stays as it always was.
func conf(fsid, dir, addr string, memstoreBytes int64, rgwPort int, cephx bool) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("[global]")
	w("fsid = %s", fsid)
	w("mon host = %s", addr)
	if addr != MonHost {
		w("public addr = %s", addr)
		w("cluster addr = %s", addr)
	}
	w("run dir = %s/run", dir)
	w("pid file = %s/run/$name.pid", dir)
	w("admin socket = %s/run/$name.asok", dir)
	w("log file = %s/log/$name.log", dir)
	w("mon cluster log file = %s/log/cluster.log", dir)
	if cephx {
		w("keyring = %s/keyring", dir)
		w("auth cluster required = cephx")
		w("auth service required = cephx")
		w("auth client required = cephx")
	} else {
		w("keyring = /dev/null")
		w("auth cluster required = none")
		w("auth service required = none")
		w("auth client required = none")
	}
	w("auth allow insecure global id reclaim = false")
	w("mon warn on insecure global id reclaim allowed = false")
	w("osd pool default size = 1")
	w("osd pool default min size = 1")
	w("osd pool default pg autoscale mode = off")
	w("osd crush chooseleaf type = 0")
	w("mon allow pool size one = true")
	w("mon warn on pool no redundancy = false")
	w("mon allow pool delete = true")
	w("mon data avail warn = 1")
	w("mon data avail crit = 0")
	w("ms mon client mode = crc")
	w("")
	w("[mon.a]")
	w("mon data = %s/mon", dir)
	w("")
	w("[mgr.x]")
	w("mgr data = %s/mgr", dir)
	w("mgr initial modules = ")
	w("")
	w("[osd.0]")
	w("osd data = %s/osd", dir)
	w("osd objectstore = memstore")
	w("memstore device bytes = %d", memstoreBytes)
	w("osd class load list = *")
	w("osd class default list = *")
	w("")
	w("[client.rgw.a]")
	w("rgw data = %s/rgw", dir)
	w("rgw frontends = beast endpoint=%s", net.JoinHostPort(addr, strconv.Itoa(rgwPort)))
	w("rgw enable usage log = false")
	return b.String()
}

// keyringEntities are the cephx entities of a cephx cluster with their caps,
// all in one keyring that ceph-mon --mkfs imports.
var keyringEntities = []struct {
	name string
	caps []string
}{
	{"mon.", []string{"mon", "allow *"}},
	{"client.admin", []string{"mon", "allow *", "osd", "allow *", "mgr", "allow *", "mds", "allow *"}},
	{"osd.0", []string{"mon", "allow profile osd", "mgr", "allow profile osd", "osd", "allow *"}},
	{"mgr.x", []string{"mon", "allow profile mgr", "osd", "allow *", "mds", "allow *"}},
	{"client.rgw.a", []string{"mon", "allow rw", "osd", "allow rwx", "mgr", "allow rw"}},
}
