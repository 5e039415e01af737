package remote

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// unaryInterceptor recovers panics, logs and measures every unary RPC.
// One function rather than a chain, so the panic's Internal code is what
// gets logged and measured.
func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			resp, err = nil, s.recovered(info.FullMethod, r)
		}
		s.observe(info.FullMethod, start, err)
	}()
	return handler(ctx, req)
}

// streamInterceptor does the same for streams and also ends them when the
// server shuts down: a watch never returns by itself and would otherwise
// hold GracefulStop until its timeout.
func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	start := time.Now()
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	stop := context.AfterFunc(s.drain, cancel)
	defer stop()
	defer func() {
		if r := recover(); r != nil {
			err = s.recovered(info.FullMethod, r)
		}
		s.observe(info.FullMethod, start, err)
	}()
	return handler(srv, &drainingStream{ServerStream: ss, ctx: ctx})
}

type drainingStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (d *drainingStream) Context() context.Context { return d.ctx }

func (s *Server) recovered(method string, r any) error {
	s.opts.Logger.Error(fmt.Errorf("panic: %v", r), "Recovered from a panic in an IRI handler",
		"method", method, "stack", string(debug.Stack()))
	// The panic value may hold request data (secrets); it stays in the log.
	return status.Errorf(codes.Internal, "internal error in %s, see the runtime's log", method)
}

func (s *Server) observe(method string, start time.Time, err error) {
	code := status.Code(err)
	d := time.Since(start)
	if s.opts.Metrics {
		serverRequestDuration.WithLabelValues(method, code.String()).Observe(d.Seconds())
	}
	switch code {
	case codes.Unknown, codes.Internal, codes.DataLoss:
		// Unknown usually means a handler returned a plain error: a bug.
		s.opts.Logger.Error(err, "IRI request failed", "method", method, "code", code, "duration", d)
	default:
		s.opts.Logger.V(1).Info("IRI request", "method", method, "code", code, "duration", d)
	}
}
