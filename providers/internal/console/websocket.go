// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	crirc "k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// Channel numbers of remotecommand over WebSocket.
const (
	chStdin = iota
	chStdout
	chStderr
	chError
	chResize
)

// statusWriteTimeout bounds writing the final status to a stalled client.
const statusWriteTimeout = 10 * time.Second

// serveV5 serves v5.channel.k8s.io, which kubelet's server lacks (kube-apiserver
// translates it to SPDY for kubelets); client-go's WebSocket executor speaks
// only this version. v5 is v4 plus a CLOSE signal, which wsstream implements.
func (s *Server) serveV5(w http.ResponseWriter, r *http.Request, target string, opts *crirc.Options, log logr.Logger) {
	channels := make([]wsstream.ChannelType, 5)
	channels[chStdin] = pick(opts.Stdin, wsstream.ReadChannel)
	channels[chStdout] = pick(opts.Stdout, wsstream.WriteChannel)
	channels[chStderr] = pick(opts.Stderr, wsstream.WriteChannel)
	channels[chError] = wsstream.WriteChannel
	channels[chResize] = wsstream.ReadChannel
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		crirc.StreamProtocolV5Name: {Binary: true, Channels: channels},
	})
	conn.SetIdleTimeout(s.IdleTimeout)
	_, streams, err := conn.Open(w, r)
	if err != nil {
		log.V(1).Info("WebSocket upgrade failed", "error", err.Error())
		return
	}
	defer func() { _ = conn.Close() }()
	// An empty frame on the first writable channel tells the client the
	// session is established.
	first := chError
	if opts.Stdout {
		first = chStdout
	} else if opts.Stderr {
		first = chStderr
	}
	if _, err := streams[first].Write(nil); err != nil {
		return
	}
	sess := Session{Target: target, Stdout: io.Discard, TTY: opts.TTY}
	if opts.Stdin {
		sess.Stdin = streams[chStdin]
	}
	if opts.Stdout {
		sess.Stdout = streams[chStdout]
	}
	if opts.TTY {
		resize := make(chan TerminalSize)
		sess.Resize = resize
		go decodeResizes(r, streams[chResize], resize)
	}
	st := metav1.Status{Status: metav1.StatusSuccess}
	if err := s.Backend.Attach(r.Context(), sess); err != nil {
		st = metav1.Status{Status: metav1.StatusFailure, Reason: metav1.StatusReasonInternalError, Code: http.StatusInternalServerError, Message: err.Error()}
	}
	b, _ := json.Marshal(st)
	conn.SetWriteDeadline(statusWriteTimeout)
	_, _ = streams[chError].Write(b)
	log.V(1).Info("Console session ended")
}

func pick(on bool, t wsstream.ChannelType) wsstream.ChannelType {
	if on {
		return t
	}
	return wsstream.IgnoreChannel
}

func decodeResizes(r *http.Request, in io.Reader, out chan<- TerminalSize) {
	defer close(out)
	dec := json.NewDecoder(in)
	for {
		var size TerminalSize
		if err := dec.Decode(&size); err != nil {
			return
		}
		select {
		case out <- size:
		case <-r.Context().Done():
			return
		}
	}
}
