// Command volumebroker serves the IRI volume runtime over a unix socket and
// materialises every IRI volume in a downstream cluster (docs/brokers.md).
package main

import (
	"github.com/ironfed/ironfed/broker/common"
	"github.com/ironfed/ironfed/broker/volumebroker"
)

func main() { common.Main("volume", volumebroker.Name, volumebroker.Run) }
