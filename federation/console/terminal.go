// Copyright 2026 The ironfed Authors.
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
	"k8s.io/client-go/tools/remotecommand"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Escape is the byte that detaches from a console (Ctrl-], as telnet and
// virsh console).
const Escape = 0x1d

// RunTerminal runs a console on the process's terminal: raw mode while it
// lasts, window size changes forwarded, Ctrl-] detaches. Without a terminal
// (a pipe) it streams stdin and stdout as they are.
func RunTerminal(ctx context.Context, c client.Reader, o Options, stdin *os.File, stdout, stderr io.Writer) error {
	fd := int(stdin.Fd())
	o.Stdin, o.Stdout = &escapeReader{r: stdin}, stdout
	if term.IsTerminal(fd) {
		state, err := term.MakeRaw(fd)
		if err != nil {
			return fmt.Errorf("terminal raw mode: %w", err)
		}
		defer func() { _ = term.Restore(fd, state) }()
		o.TTY = true
		sizes := newSizeQueue(ctx, fd)
		defer sizes.stop()
		o.Sizes = sizes
		_, _ = fmt.Fprintf(stderr, "Connected to the console of %s (detach: Ctrl-])\r\n", o.Machine)
	}
	err := Run(ctx, c, o)
	if o.TTY {
		_, _ = fmt.Fprint(stderr, "\r\n")
	}
	return Describe(o.Machine, err)
}

// escapeReader ends the input at the escape byte.
type escapeReader struct {
	r    io.Reader
	done bool
}

func (e *escapeReader) Read(p []byte) (int, error) {
	if e.done {
		return 0, io.EOF
	}
	n, err := e.r.Read(p)
	for i := range n {
		if p[i] == Escape {
			e.done = true
			return i, nil
		}
	}
	return n, err
}

// sizeQueue reports the terminal's size at start and on every SIGWINCH.
type sizeQueue struct {
	fd     int
	ch     chan remotecommand.TerminalSize
	sig    chan os.Signal
	cancel context.CancelFunc
}

func newSizeQueue(ctx context.Context, fd int) *sizeQueue {
	ctx, cancel := context.WithCancel(ctx)
	q := &sizeQueue{fd: fd, ch: make(chan remotecommand.TerminalSize, 1), sig: make(chan os.Signal, 1), cancel: cancel}
	signal.Notify(q.sig, syscall.SIGWINCH)
	q.push()
	go func() {
		defer close(q.ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-q.sig:
				q.push()
			}
		}
	}()
	return q
}

func (q *sizeQueue) push() {
	w, h, err := term.GetSize(q.fd)
	if err != nil {
		return
	}
	select {
	case q.ch <- remotecommand.TerminalSize{Width: uint16(w), Height: uint16(h)}:
	default: // the previous size is still queued; the next signal brings the latest
	}
}

// Next blocks until the size changes; nil once the session ends.
func (q *sizeQueue) Next() *remotecommand.TerminalSize {
	s, ok := <-q.ch
	if !ok {
		return nil
	}
	return &s
}

func (q *sizeQueue) stop() {
	signal.Stop(q.sig)
	q.cancel()
}
