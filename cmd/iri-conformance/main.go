// Command iri-conformance runs the IRI conformance suite (iri/conformance)
// against any machine, volume and bucket runtime and prints a report:
// PASS, FAIL or SKIP per case with the reason, then the totals. It exits 1
// when a case failed and 2 when the run could not start. See
// docs/conformance.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/ironfed/ironfed/iri/conformance"
	"github.com/ironfed/ironfed/iri/remote"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("iri-conformance", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg conformance.Config
	fs.StringVar(&cfg.MachineEndpoint, "machine-endpoint", "", "Machine runtime endpoint (unix:///path); default $"+remote.KindMachine.EnvVar()+". Without one the machine cases are skipped.")
	fs.StringVar(&cfg.VolumeEndpoint, "volume-endpoint", "", "Volume runtime endpoint; default $"+remote.KindVolume.EnvVar()+".")
	fs.StringVar(&cfg.BucketEndpoint, "bucket-endpoint", "", "Bucket runtime endpoint; default $"+remote.KindBucket.EnvVar()+".")
	fs.StringVar(&cfg.Focus, "focus", "", "Run only cases whose <runtime>/<case> name matches this regular expression.")
	fs.StringVar(&cfg.Skip, "skip", "", "Do not run cases whose <runtime>/<case> name matches this regular expression.")
	timeout := fs.Duration("timeout", 30*time.Minute, "Deadline of the whole run.")
	fs.DurationVar(&cfg.CaseTimeout, "case-timeout", 2*time.Minute, "Deadline of one case.")
	fs.DurationVar(&cfg.WaitTimeout, "wait-timeout", 30*time.Second, "How long a case waits for an asynchronous state (e.g. Running) before failing.")
	fs.DurationVar(&cfg.PollInterval, "poll-interval", 100*time.Millisecond, "How often waits poll.")
	fs.DurationVar(&cfg.DialTimeout, "dial-timeout", 10*time.Second, "How long to wait for an endpoint to accept connections.")
	list := fs.Bool("list", false, "List the selected cases and exit.")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	for _, e := range []struct {
		v    *string
		kind remote.Kind
	}{{&cfg.MachineEndpoint, remote.KindMachine}, {&cfg.VolumeEndpoint, remote.KindVolume}, {&cfg.BucketEndpoint, remote.KindBucket}} {
		if *e.v == "" {
			*e.v = os.Getenv(e.kind.EnvVar())
		}
	}

	suite := conformance.DefaultSuite()
	if *list {
		cases, err := suite.Select(cfg.Focus, cfg.Skip)
		if err != nil {
			fmt.Fprintln(stderr, "iri-conformance:", err)
			return 2
		}
		for _, k := range cases {
			fmt.Fprintln(stdout, k.FullName())
		}
		return 0
	}
	if cfg.MachineEndpoint == "" && cfg.VolumeEndpoint == "" && cfg.BucketEndpoint == "" {
		fmt.Fprintln(stderr, "iri-conformance: no endpoint given; set --machine-endpoint, --volume-endpoint and/or --bucket-endpoint")
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	rep, err := conformance.Run(ctx, cfg, suite, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "iri-conformance:", err)
		return 2
	}
	fmt.Fprintf(stdout, "\n%s in %s\n", rep.Totals(), rep.Duration.Round(time.Millisecond))
	if rep.Failed > 0 {
		return 1
	}
	return 0
}
