package remote

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// IRI calls over a unix socket take well under a millisecond when the
// runtime is local and seconds when a broker waits on a downstream cluster,
// so the buckets span both.
var durationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

var (
	serverRequestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ironfed_iri_server_request_duration_seconds",
		Help:    "Duration of IRI requests served, by full gRPC method and status code. Streams count until they end.",
		Buckets: durationBuckets,
	}, []string{"method", "code"})
	clientRequestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ironfed_iri_client_request_duration_seconds",
		Help:    "Duration of unary IRI requests made, by full gRPC method and status code.",
		Buckets: durationBuckets,
	}, []string{"method", "code"})
)

// RegisterMetrics adds the IRI request histograms to reg (a binary passes the registry it serves
// on /metrics). The package takes a Registerer instead of importing one so that iri/ stays free of
// Kubernetes libraries. Registering twice is not an error.
func RegisterMetrics(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{serverRequestDuration, clientRequestDuration} {
		if err := reg.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			return err
		}
	}
	return nil
}

// ClientMetricsInterceptor records ironfed_iri_client_request_duration_seconds.
// Dial installs it unless WithoutClientMetrics is given.
func ClientMetricsInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		start := time.Now()
		err := invoker(ctx, method, req, reply, cc, opts...)
		clientRequestDuration.WithLabelValues(method, status.Code(err).String()).Observe(time.Since(start).Seconds())
		return err
	}
}
