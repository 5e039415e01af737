package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/remote"
)

func TestRunServesAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, []byte("machineClasses:\n- {name: tiny, cpu: 1, memoryBytes: 1073741824, capacity: 2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := options{configFile: cfgFile, probeAddr: "0", metricsAdr: "0"}
	o.sockets.dir = dir
	o.sockets.runtimes = []string{"machine"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, &o, false, logr.Discard()) }()

	sock := filepath.Join(dir, "iri-machineprovider.sock")
	conn, err := remote.Dial(ctx, sock, remote.WithDialTimeout(5*time.Second), remote.WithoutClientMetrics())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	st, err := machinev1alpha1.NewMachineRuntimeClient(conn).Status(ctx, &machinev1alpha1.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if cs := st.GetMachineClassStatus(); len(cs) != 1 || cs[0].GetMachineClass().GetName() != "tiny" || cs[0].GetQuantity() != 2 {
		t.Errorf("Status = %v, want the class from the config file", cs)
	}
	if _, err := os.Stat(filepath.Join(dir, "iri-volumeprovider.sock")); err == nil {
		t.Errorf("volume runtime served although --runtimes excludes it")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop")
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for name, mut := range map[string]func(*options){
		"no runtimes":     func(o *options) { o.sockets.runtimes = nil },
		"unknown runtime": func(o *options) { o.sockets.runtimes = []string{"nic"} },
		"negative delay":  func(o *options) { o.stateDelay = -time.Second },
		"url without server": func(o *options) {
			o.exec.url = "http://x"
		},
	} {
		o := options{}
		o.sockets.runtimes = []string{"machine"}
		mut(&o)
		if err := o.validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
