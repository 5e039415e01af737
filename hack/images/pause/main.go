// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

// Command pause is the sandbox (infra) container of a pod on our node clusters: it holds the
// pod's namespaces, reaps orphaned children (it is PID 1 when the pod shares its PID namespace)
// and exits on SIGTERM or SIGINT. hack/images packs it as the image the node's containerd is
// configured with as sandbox_image, so no registry is needed.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			return
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
