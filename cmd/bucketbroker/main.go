// Command bucketbroker serves the IRI bucket runtime over a unix socket and
// materialises every IRI bucket in a downstream cluster (docs/brokers.md).
package main

import (
	"github.com/ironfed/ironfed/broker/bucketbroker"
	"github.com/ironfed/ironfed/broker/common"
)

func main() { common.Main("bucket", bucketbroker.Name, bucketbroker.Run) }
