package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Server defaults; see ServeOptions.
const (
	DefaultSocketMode      os.FileMode = 0o600
	DefaultShutdownTimeout             = 10 * time.Second
)

// ServeOptions configures an IRI server. Zero fields take the defaults.
type ServeOptions struct {
	// SocketPath is where to listen: "/path", "unix:/path" or "unix:///path".
	SocketPath string
	// SocketMode is applied to the socket after listening (default 0600).
	SocketMode os.FileMode
	// Register adds the services, e.g. machinev1alpha1.RegisterMachineRuntimeServer.
	Register func(*grpc.Server)
	// Logger logs panics and failed RPCs, and every RPC at V(1).
	Logger logr.Logger
	// Metrics records ironfed_iri_server_request_duration_seconds.
	Metrics bool
	// MaxMessageSize limits received and sent messages (default MaxMessageSize).
	MaxMessageSize int
	// ShutdownTimeout bounds the graceful stop before connections are cut
	// (default DefaultShutdownTimeout).
	ShutdownTimeout time.Duration
	// GRPCOptions are appended to the server options.
	GRPCOptions []grpc.ServerOption
}

// Server is an IRI gRPC server on a unix socket.
type Server struct {
	opts  ServeOptions
	path  string
	lis   net.Listener
	sock  os.FileInfo
	grpc  *grpc.Server
	drain context.Context
	stop  context.CancelFunc
}

// Serve listens on opts.SocketPath and serves until ctx is done, then stops
// gracefully and removes the socket.
func Serve(ctx context.Context, opts ServeOptions) error {
	s, err := NewServer(opts)
	if err != nil {
		return err
	}
	return s.Serve(ctx)
}

// NewServer validates opts and listens, so that once it returns clients
// can connect (requests wait until Serve runs). A stale socket file is
// replaced; a socket someone still answers on is an error. Call Serve to
// serve and to clean up, even with a done context.
func NewServer(opts ServeOptions) (*Server, error) {
	if opts.Register == nil {
		return nil, errors.New("IRI server: Register is nil, nothing would be served")
	}
	path, err := SocketPath(opts.SocketPath)
	if err != nil {
		return nil, fmt.Errorf("IRI server: %w", err)
	}
	if opts.SocketMode == 0 {
		opts.SocketMode = DefaultSocketMode
	}
	if opts.MaxMessageSize == 0 {
		opts.MaxMessageSize = MaxMessageSize
	}
	if opts.ShutdownTimeout == 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	if opts.MaxMessageSize < 0 || opts.ShutdownTimeout < 0 || opts.SocketMode&^os.ModePerm != 0 {
		return nil, fmt.Errorf("IRI server: invalid options: MaxMessageSize %d, ShutdownTimeout %s, SocketMode %v",
			opts.MaxMessageSize, opts.ShutdownTimeout, opts.SocketMode)
	}
	if err := removeStaleSocket(path, opts.Logger); err != nil {
		return nil, err
	}
	lis, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("IRI server: listening on %s: %w", path, err)
	}
	if err := os.Chmod(path, opts.SocketMode); err != nil {
		_ = lis.Close()
		return nil, fmt.Errorf("IRI server: setting mode of %s: %w", path, err)
	}
	sock, err := os.Stat(path)
	if err != nil {
		_ = lis.Close()
		return nil, fmt.Errorf("IRI server: %w", err)
	}
	s := &Server{opts: opts, path: path, lis: lis, sock: sock}
	s.drain, s.stop = context.WithCancel(context.Background())
	s.grpc = grpc.NewServer(append([]grpc.ServerOption{
		grpc.MaxRecvMsgSize(opts.MaxMessageSize),
		grpc.MaxSendMsgSize(opts.MaxMessageSize),
		// Our clients ping every 30s, also when idle; gRPC's default policy
		// (5 min, not without streams) would answer with GOAWAY.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.ChainUnaryInterceptor(s.unaryInterceptor),
		grpc.ChainStreamInterceptor(s.streamInterceptor),
	}, opts.GRPCOptions...)...)
	opts.Register(s.grpc)
	return s, nil
}

// Path is the socket's path.
func (s *Server) Path() string { return s.path }

// Serve serves until ctx is done, then stops gracefully within the
// shutdown timeout and removes the socket. Open watch streams see their
// context canceled so they do not hold up the stop.
func (s *Server) Serve(ctx context.Context) error {
	defer s.removeSocket()
	errCh := make(chan error, 1)
	go func() { errCh <- s.grpc.Serve(s.lis) }()
	select {
	case err := <-errCh:
		s.stop()
		return fmt.Errorf("IRI server on %s: %w", s.path, err)
	case <-ctx.Done():
	}
	s.stop()
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	t := time.NewTimer(s.opts.ShutdownTimeout)
	defer t.Stop()
	select {
	case <-stopped:
	case <-t.C:
		s.opts.Logger.Info("Graceful stop timed out, closing remaining connections", "socket", s.path, "timeout", s.opts.ShutdownTimeout)
		s.grpc.Stop()
		<-stopped
	}
	<-errCh
	return nil
}

// removeSocket removes the socket unless it was already removed or
// replaced by another server.
func (s *Server) removeSocket() {
	if fi, err := os.Stat(s.path); err == nil && os.SameFile(fi, s.sock) {
		_ = os.Remove(s.path)
	}
}

// removeStaleSocket removes a socket file left behind by a dead server and
// refuses to touch anything else.
func removeStaleSocket(path string, log logr.Logger) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("IRI server: checking %s: %w", path, err)
	}
	if fi.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("IRI server: %s exists and is not a socket; refusing to replace it", path)
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		_ = conn.Close()
		return fmt.Errorf("IRI server: another server is listening on %s", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("IRI server: checking whether %s is in use: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("IRI server: removing stale socket %s: %w", path, err)
	}
	log.Info("Removed stale socket", "socket", path)
	return nil
}
