package localfed

import "path/filepath"

// BrokerSocket is the unix socket of the kind ("machine", "volume", "bucket") broker that serves
// parent's pool of child: an IRI endpoint, e.g. for irictl or a console client.
func (f *Federation) BrokerSocket(parent, child, kind string) string {
	return filepath.Join(f.sockDir, parent+"-"+child+"-"+kind+"broker.sock")
}
