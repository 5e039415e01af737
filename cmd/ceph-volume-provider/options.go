package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/ironfed/ironfed/cmd/internal/providercmd"
)

type options struct {
	socket string
	ceph   struct {
		monitors, config, user, keyFile string
	}
	pool, clientUser string
	classesFile      string
	imagePrefix      string
	sweepInterval    time.Duration
	imagePlainHTTP   bool
	http             providercmd.HTTPOptions
}

func (o *options) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.socket, "socket", "/var/run/iri-volumeprovider.sock", "Unix socket of the IRI volume runtime.")
	fs.StringVar(&o.ceph.monitors, "ceph-monitors", "", "Ceph monitors, host:port[,host:port...]; also handed to clients in each volume's access (attribute \"monitors\"). Required.")
	fs.StringVar(&o.ceph.config, "ceph-config", "", "Optional ceph.conf (e.g. /etc/ceph/ceph.conf with its keyring) read before --ceph-monitors is applied.")
	fs.StringVar(&o.ceph.user, "ceph-user", "admin", "cephx id the provider connects as; needs mon \"allow *\"-level caps to create the client user (or that user must exist).")
	fs.StringVar(&o.ceph.keyFile, "ceph-key-file", "", "File holding the base64 cephx key of --ceph-user (empty: from --ceph-config's keyring, or auth none).")
	fs.StringVar(&o.pool, "pool", "rbd", "RBD pool of the volumes (must exist and be initialised with `rbd pool init`).")
	fs.StringVar(&o.clientUser, "client-user", "", "cephx id handed to clients (QEMU) in each volume's access, created with caps restricted to --pool (mon 'profile rbd', osd 'profile rbd pool=<pool>'); default ironfed-<pool>.")
	fs.StringVar(&o.classesFile, "classes", "", "YAML/JSON file with volumeClasses (name, tps bytes/s, iops); empty: fast and slow (see docs/ceph-provider.md).")
	fs.StringVar(&o.imagePrefix, "image-prefix", "ironfed-", "Prefix of the RBD images and snapshots this provider owns; the orphan sweep touches nothing else.")
	fs.DurationVar(&o.sweepInterval, "sweep-interval", 10*time.Minute, "How often to remove images and snapshots with --image-prefix that have no record (half-created); also once at start. 0 disables.")
	fs.BoolVar(&o.imagePlainHTTP, "image-plain-http", false, "Pull OS images (image_data_source) over plain HTTP instead of HTTPS, for local registries.")
	o.http.AddFlags(fs)
}

func (o *options) validate() error {
	if o.ceph.monitors == "" {
		return fmt.Errorf("--ceph-monitors is required (host:port[,host:port...])")
	}
	if o.pool == "" {
		return fmt.Errorf("--pool must not be empty")
	}
	if o.sweepInterval < 0 {
		return fmt.Errorf("--sweep-interval must not be negative, got %s", o.sweepInterval)
	}
	return nil
}
