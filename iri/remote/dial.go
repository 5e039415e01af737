package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

// MaxMessageSize is the default send and receive limit of our clients and
// servers. The IRI has no pagination, and gRPC's 4 MiB default breaks a
// full ListMachines of roughly ten thousand machines.
const MaxMessageSize = 64 << 20

// Client defaults; see the With* options.
const (
	DefaultDialTimeout      = 10 * time.Second
	DefaultCallTimeout      = 30 * time.Second
	DefaultKeepaliveTime    = 30 * time.Second
	DefaultKeepaliveTimeout = 10 * time.Second
)

// Option configures Dial and the runtime clients. Options that do not
// concern a function are ignored by it.
type Option func(*options)

type options struct {
	dialTimeout      time.Duration
	callTimeout      time.Duration
	maxMessageSize   int
	keepaliveTime    time.Duration
	keepaliveTimeout time.Duration
	clientMetrics    bool
	extra            []grpc.DialOption
}

// WithDialTimeout bounds how long Dial waits for the connection to become
// ready (default DefaultDialTimeout).
func WithDialTimeout(d time.Duration) Option { return func(o *options) { o.dialTimeout = d } }

// WithCallTimeout bounds every unary call of a runtime client (default
// DefaultCallTimeout). Watch streams have no timeout.
func WithCallTimeout(d time.Duration) Option { return func(o *options) { o.callTimeout = d } }

// WithMaxMessageSize sets the send and receive limit (default MaxMessageSize).
func WithMaxMessageSize(n int) Option { return func(o *options) { o.maxMessageSize = n } }

// WithKeepalive sets the client's ping interval and ping ack timeout. A
// server with gRPC's default enforcement (5 min) answers pings more
// frequent than that with GOAWAY, after which gRPC backs the interval off.
func WithKeepalive(interval, timeout time.Duration) Option {
	return func(o *options) { o.keepaliveTime, o.keepaliveTimeout = interval, timeout }
}

// WithoutClientMetrics leaves out the client request duration histogram.
func WithoutClientMetrics() Option { return func(o *options) { o.clientMetrics = false } }

// WithGRPCDialOptions appends raw gRPC dial options (e.g. more interceptors).
func WithGRPCDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.extra = append(o.extra, opts...) }
}

func buildOptions(opts []Option) (options, error) {
	o := options{
		dialTimeout:      DefaultDialTimeout,
		callTimeout:      DefaultCallTimeout,
		maxMessageSize:   MaxMessageSize,
		keepaliveTime:    DefaultKeepaliveTime,
		keepaliveTimeout: DefaultKeepaliveTimeout,
		clientMetrics:    true,
	}
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case o.dialTimeout <= 0:
		return o, fmt.Errorf("dial timeout must be positive, got %s", o.dialTimeout)
	case o.callTimeout <= 0:
		return o, fmt.Errorf("call timeout must be positive, got %s", o.callTimeout)
	case o.maxMessageSize <= 0:
		return o, fmt.Errorf("max message size must be positive, got %d", o.maxMessageSize)
	case o.keepaliveTime <= 0 || o.keepaliveTimeout <= 0:
		return o, fmt.Errorf("keepalive interval and timeout must be positive, got %s and %s", o.keepaliveTime, o.keepaliveTimeout)
	}
	return o, nil
}

// Dial connects to an IRI endpoint ("unix:///path", "unix:/path" or
// "/path") and waits until the connection is ready, at most the dial
// timeout. Failing that it returns an Unavailable status naming the
// endpoint, so a caller never holds a connection that was never up.
func Dial(ctx context.Context, endpoint string, opts ...Option) (*grpc.ClientConn, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	path, err := SocketPath(endpoint)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	dialOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// The resolver hands the dialer "unix:///path"; dial the path we
		// already validated instead of parsing it again.
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(o.maxMessageSize),
			grpc.MaxCallSendMsgSize(o.maxMessageSize),
		),
		// gRPC's reconnect backoff grows to 2 minutes; a local socket is
		// cheap to retry, and a restarted runtime should be found in seconds.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           grpcbackoff.Config{BaseDelay: 200 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second},
			MinConnectTimeout: 5 * time.Second,
		}),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:                o.keepaliveTime,
			Timeout:             o.keepaliveTimeout,
			PermitWithoutStream: true,
		}),
	}
	if o.clientMetrics {
		dialOpts = append(dialOpts, grpc.WithChainUnaryInterceptor(ClientMetricsInterceptor()))
	}
	dialOpts = append(dialOpts, o.extra...)
	conn, err := grpc.NewClient("unix://"+path, dialOpts...)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "IRI endpoint %s: %v", endpoint, err)
	}
	if err := waitReady(ctx, conn, o.dialTimeout); err != nil {
		_ = conn.Close()
		if ctx.Err() != nil {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		return nil, status.Errorf(codes.Unavailable, "IRI endpoint %s: %v", endpoint, explainDialFailure(path, err))
	}
	return conn, nil
}

func waitReady(ctx context.Context, conn *grpc.ClientConn, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn.Connect()
	for {
		s := conn.GetState()
		switch s {
		case connectivity.Ready:
			return nil
		case connectivity.Shutdown:
			return errors.New("connection was closed")
		}
		if !conn.WaitForStateChange(ctx, s) {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("not ready within %s (last state %s)", timeout, s)
			}
			return ctx.Err()
		}
	}
}

// explainDialFailure adds what the file system says about the socket,
// which is usually the actual cause.
func explainDialFailure(path string, err error) error {
	fi, statErr := os.Stat(path)
	switch {
	case errors.Is(statErr, os.ErrNotExist):
		return fmt.Errorf("%w: socket %s does not exist", err, path)
	case statErr != nil:
		return fmt.Errorf("%w: %v", err, statErr)
	case fi.Mode().Type() != os.ModeSocket:
		return fmt.Errorf("%w: %s is not a socket", err, path)
	}
	return fmt.Errorf("%w: nothing answers on socket %s", err, path)
}
