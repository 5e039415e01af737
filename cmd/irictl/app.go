package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/ironfed/ironfed/iri/remote"
)

const usage = `irictl talks to an IRI runtime (provider or broker) over its unix socket.

Usage:
  irictl <machine|volume|bucket> <command> [flags]

Commands:
  list            list objects (filter with --label)
  get ID          show one object
  create -f FILE  create an object from a JSON or YAML file ("-" for stdin)
  delete ID       delete an object
  status          show the runtime's classes and capacity
  watch           print changes as they happen (polls if the runtime cannot watch)

Run "irictl <kind> <command> --help" for the flags of a command.
`

var verbs = map[string]bool{"list": true, "get": true, "create": true, "delete": true, "status": true, "watch": true}

// kinds maps each runtime kind to how to read its create files and how to
// connect to it.
var kinds = map[remote.Kind]struct {
	parseCreate func(data []byte) (proto.Message, error)
	connect     func(ctx context.Context, conn *grpc.ClientConn, opts ...remote.Option) (runner, error)
}{
	remote.KindMachine: {parseMachineCreate, connectMachines},
	remote.KindVolume:  {parseVolumeCreate, connectVolumes},
	remote.KindBucket:  {parseBucketCreate, connectBuckets},
}

// cli holds one invocation's flags and output streams.
type cli struct {
	kind         remote.Kind
	verb         string
	address      string
	output       string
	timeout      time.Duration
	labels       map[string]string
	file         string
	relistPeriod time.Duration
	stdout       io.Writer
	stderr       io.Writer
}

// run executes one irictl invocation and returns the exit code: 0, or 1
// after printing "irictl: <what failed>" to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stdout
		if len(args) == 0 {
			w = stderr
		}
		fmt.Fprint(w, usage)
		if len(args) == 0 {
			return 1
		}
		return 0
	}
	c := &cli{stdout: stdout, stderr: stderr}
	posArgs, err := c.parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	if err == nil {
		err = c.execute(ctx, posArgs)
	}
	if err != nil {
		fmt.Fprintf(stderr, "irictl: %s\n", describe(err))
		return 1
	}
	return 0
}

func (c *cli) parse(args []string) ([]string, error) {
	kind, err := remote.ParseKind(args[0])
	if err != nil {
		return nil, fmt.Errorf("%v; run irictl --help", err)
	}
	c.kind = kind
	if len(args) < 2 || !verbs[args[1]] {
		return nil, fmt.Errorf("%s: want a command (list, get, create, delete, status, watch); run irictl --help", kind)
	}
	c.verb = args[1]
	name := fmt.Sprintf("%s %s", c.kind, c.verb)
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	// Errors are reported once, by run; usage only on --help.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&c.address, "address", "", fmt.Sprintf("Runtime endpoint (unix:///path or /path). Default: $%s, then %s.",
		kind.EnvVar(), strings.Join(kind.WellKnownSockets(), " or ")))
	fs.StringVarP(&c.output, "output", "o", "table", "Output format: table, json or yaml.")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "Timeout for connecting and for each call.")
	var labels []string
	switch c.verb {
	case "list", "watch":
		fs.StringArrayVarP(&labels, "label", "l", nil, "Only objects with this label, key=value (repeatable; all must match).")
	case "create":
		fs.StringVarP(&c.file, "file", "f", "", "JSON or YAML file holding the create request or the bare object (\"-\": stdin).")
	}
	if c.verb == "watch" {
		fs.DurationVar(&c.relistPeriod, "relist-period", 5*time.Second, "List interval when the runtime cannot watch.")
	}
	if err := fs.Parse(args[2:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(c.stdout, "Usage: irictl %s%s [flags]\n\nFlags:\n%s", name, verbArgs(c.verb), fs.FlagUsages())
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w (see irictl %s --help)", name, err, name)
	}
	if c.labels, err = parseLabels(labels); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	switch c.output {
	case "table", "json", "yaml":
	default:
		return nil, fmt.Errorf("%s: --output %q: want table, json or yaml", name, c.output)
	}
	if c.timeout <= 0 {
		return nil, fmt.Errorf("%s: --timeout must be positive, got %s", name, c.timeout)
	}
	if c.verb == "watch" && c.relistPeriod <= 0 {
		return nil, fmt.Errorf("%s: --relist-period must be positive, got %s", name, c.relistPeriod)
	}
	if c.verb == "create" && c.file == "" {
		return nil, fmt.Errorf("%s: --file (-f) is required", name)
	}
	if verbArgs(c.verb) != "" && fs.NArg() != 1 {
		return nil, fmt.Errorf("%s: want exactly one argument, the ID, got %d %q", name, fs.NArg(), fs.Args())
	}
	if verbArgs(c.verb) == "" && fs.NArg() != 0 {
		return nil, fmt.Errorf("%s: takes no arguments, got %q", name, fs.Args())
	}
	return fs.Args(), nil
}

func verbArgs(verb string) string {
	if verb == "get" || verb == "delete" {
		return " ID"
	}
	return ""
}

func parseLabels(in []string) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(in))
	for _, l := range in {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--label %q: want key=value", l)
		}
		out[k] = v
	}
	return out, nil
}

func (c *cli) execute(ctx context.Context, args []string) error {
	k := kinds[c.kind]
	// Read the create file first: bad input fails without a runtime.
	var req proto.Message
	if c.verb == "create" {
		data, err := readFile(c.file)
		if err != nil {
			return err
		}
		if req, err = k.parseCreate(data); err != nil {
			return fmt.Errorf("%s: %w", c.file, err)
		}
	}
	endpoint, err := remote.ResolveEndpoint(ctx, c.kind, c.address, 0)
	if err != nil {
		return err
	}
	opts := []remote.Option{remote.WithDialTimeout(c.timeout), remote.WithCallTimeout(c.timeout), remote.WithoutClientMetrics()}
	conn, err := remote.Dial(ctx, endpoint, opts...)
	if err != nil {
		return err
	}
	defer conn.Close()
	v, err := k.connect(ctx, conn, opts...)
	if err != nil {
		return withPrefix(endpoint, err)
	}
	return v.run(ctx, c, args, req)
}

func readFile(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}

// prefixed puts what was being done (e.g. the RPC's name) before an error.
type prefixed struct {
	prefix string
	err    error
}

func (e *prefixed) Error() string { return e.prefix + ": " + describe(e.err) }
func (e *prefixed) Unwrap() error { return e.err }

func withPrefix(prefix string, err error) error {
	if err == nil {
		return nil
	}
	return &prefixed{prefix: prefix, err: err}
}

// describe renders a gRPC status as "Code: message" instead of gRPC's
// "rpc error: code = Code desc = message". Only the error itself is
// checked: a wrapped status renders through its wrapper's Error.
func describe(err error) string {
	if s, ok := err.(interface{ GRPCStatus() *status.Status }); ok {
		if st := s.GRPCStatus(); st != nil {
			return fmt.Sprintf("%s: %s", st.Code(), st.Message())
		}
	}
	return err.Error()
}
