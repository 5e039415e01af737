package remote

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"google.golang.org/protobuf/proto"

	metav1alpha1 "github.com/ironfed/ironfed/iri/apis/meta/v1alpha1"
)

// EventType says what a watch event means.
type EventType int

// Event types. Added, Modified and Deleted carry an object.
const (
	Added EventType = iota + 1
	Modified
	Deleted
	// Synced carries no object: everything the runtime had when the Watcher
	// first connected has been delivered. Sent once per Watcher.
	Synced
	// Bookmark is what a Source's Stream returns for the server's BOOKMARK.
	// The Watcher consumes it; handlers never see it.
	Bookmark
)

func (t EventType) String() string {
	switch t {
	case Added:
		return "ADDED"
	case Modified:
		return "MODIFIED"
	case Deleted:
		return "DELETED"
	case Synced:
		return "SYNCED"
	case Bookmark:
		return "BOOKMARK"
	}
	return fmt.Sprintf("EventType(%d)", int(t))
}

// Event is one change delivered by a Watcher. Deleted events carry the
// last known state.
type Event[T any] struct {
	Type   EventType
	Object T
}

// Object is what a Watcher can watch: Machine, Volume, Bucket.
type Object interface {
	comparable
	proto.Message
	GetMetadata() *metav1alpha1.ObjectMetadata
}

// Stream is a running server watch.
type Stream[T any] interface {
	// Recv returns the next event; object is unset for Bookmark.
	Recv() (EventType, T, error)
}

// Source is what a Watcher needs from one kind of runtime: a full list and
// a watch that starts with the initial list (send_initial_list=true).
type Source[T any] interface {
	List(ctx context.Context) ([]T, error)
	Watch(ctx context.Context) (Stream[T], error)
}

// Mode is how a Watcher currently learns about changes.
type Mode int

const (
	// ModeUnknown: nothing has succeeded yet.
	ModeUnknown Mode = iota
	// ModeWatch: the runtime's watch stream.
	ModeWatch
	// ModePoll: periodic List, because the runtime answered Unimplemented
	// to the watch (an upstream runtime).
	ModePoll
)

func (m Mode) String() string {
	switch m {
	case ModeWatch:
		return "watch"
	case ModePoll:
		return "poll"
	}
	return "unknown"
}

// WatcherStatus is a snapshot of a Watcher's health, meant for a
// "runtime reachable" condition.
type WatcherStatus struct {
	// Mode of the last successful list or watch.
	Mode Mode
	// Synced is true once the initial list was delivered.
	Synced bool
	// Err is the last failure; nil once a list or watch succeeds again.
	Err error
	// FailingSince is when the current run of failures began; zero when healthy.
	FailingSince time.Time
}

// WatcherOptions configures a Watcher. Zero fields take the defaults.
type WatcherOptions struct {
	// RelistPeriod is the List interval in poll mode (default 5s).
	RelistPeriod time.Duration
	// BackoffInitial and BackoffMax bound the jittered exponential delay
	// between failed attempts (defaults 500ms and 30s). A watch that was
	// synced and lived at least BackoffMax resets the delay.
	BackoffInitial, BackoffMax time.Duration
	// SyncTimeout is how long a new watch may take to reach its BOOKMARK
	// before it is abandoned and retried (default 2m).
	SyncTimeout time.Duration
	// WatchProbePeriod is how often poll mode tries the watch again, in case
	// the runtime was upgraded (default 5m; negative: never).
	WatchProbePeriod time.Duration
	// Logger receives connection changes and protocol violations.
	Logger logr.Logger
	// OnStatus, if set, is called from Run's goroutine whenever the status
	// changes. It must not block.
	OnStatus func(WatcherStatus)
	// Strip, if set, is applied to every object received before it is
	// compared, cached and delivered: it clears fields the consumer never
	// reads (a machine's ignition data, up to 1 MiB each), as an informer's
	// transform does.
	Strip func(proto.Message)
}
