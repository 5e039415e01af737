package conformance

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// upgrade asks u for a remotecommand session over proto ("websocket" or
// "spdy") with a raw HTTP/1.1 request, so the suite needs no Kubernetes
// client, and returns the status and the negotiated subprotocol. A
// successful upgrade is closed at once.
func upgrade(ctx context.Context, u *url.URL, proto string) (int, string, error) {
	q := u.Query()
	q.Set("input", "1")
	q.Set("output", "1")
	q.Set("tty", "1")
	target := *u
	target.RawQuery = q.Encode()
	method := http.MethodGet
	req, err := http.NewRequestWithContext(ctx, method, target.String(), nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Connection", "Upgrade")
	var protoHeader string
	switch proto {
	case "websocket":
		key := make([]byte, 16)
		_, _ = rand.Read(key)
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", base64.StdEncoding.EncodeToString(key))
		req.Header.Set("Sec-WebSocket-Protocol", "v5.channel.k8s.io")
		protoHeader = "Sec-WebSocket-Protocol"
	default:
		req.Method = http.MethodPost
		req.Header.Set("Upgrade", "SPDY/3.1")
		for _, v := range []string{"v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"} {
			req.Header.Add("X-Stream-Protocol-Version", v)
		}
		protoHeader = "X-Stream-Protocol-Version"
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"https": "443"}[u.Scheme]+map[string]string{"http": "80"}[u.Scheme])
	}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = conn.Close() }()
	if u.Scheme == "https" {
		// The suite checks the protocol, not the provider's certificate.
		tc := tls.Client(conn, &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: true}) //nolint:gosec
		if err := tc.HandshakeContext(ctx); err != nil {
			return 0, "", err
		}
		conn = tc
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := req.Write(conn); err != nil {
		return 0, "", fmt.Errorf("writing the upgrade request: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return 0, "", fmt.Errorf("reading the upgrade response: %w", err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Header.Get(protoHeader), nil
}
