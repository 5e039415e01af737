// Command machinebroker serves the IRI machine runtime over a unix socket and
// materialises every IRI machine in a downstream cluster (docs/brokers.md).
package main

import (
	"github.com/ironfed/ironfed/broker/common"
	"github.com/ironfed/ironfed/broker/machinebroker"
)

func main() { common.Main("machine", machinebroker.Name, machinebroker.Run) }
