package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	"github.com/ironfed/ironfed/iri/remote"
)

// runner runs one command against a connected runtime.
type runner interface {
	run(ctx context.Context, c *cli, args []string, createReq proto.Message) error
}

// kindOps is what differs between machines, volumes and buckets; the
// commands themselves are written once, in run. Errors returned by the
// functions already name the RPC.
type kindOps[T remote.Object] struct {
	kind   remote.Kind
	header []string
	row    func(T) []string
	// list returns the whole response (for -o json|yaml) and its objects.
	list    func(ctx context.Context, id string, labels map[string]string) (proto.Message, []T, error)
	create  func(ctx context.Context, req proto.Message) (T, error)
	delete  func(ctx context.Context, id string) error
	status  func(ctx context.Context) (proto.Message, table, error)
	watcher func(labels map[string]string, opts remote.WatcherOptions) (*remote.Watcher[T], error)
}

func (o *kindOps[T]) run(ctx context.Context, c *cli, args []string, createReq proto.Message) error {
	switch c.verb {
	case "list":
		resp, objs, err := o.list(ctx, "", c.labels)
		if err != nil {
			return err
		}
		return c.print(resp, rows(objs, o.header, o.row))
	case "get":
		// The IRI has no Get: a List filtered by id.
		_, objs, err := o.list(ctx, args[0], nil)
		if err != nil {
			return err
		}
		if len(objs) == 0 {
			return status.Errorf(codes.NotFound, "%s %q not found", o.kind, args[0])
		}
		return c.print(objs[0], rows(objs[:1], o.header, o.row))
	case "create":
		obj, err := o.create(ctx, createReq)
		if err != nil {
			return err
		}
		return c.print(obj, rows([]T{obj}, o.header, o.row))
	case "delete":
		if err := o.delete(ctx, args[0]); err != nil {
			return err
		}
		_, err := fmt.Fprintf(c.stdout, "%s %q deleted\n", o.kind, args[0])
		return err
	case "status":
		resp, t, err := o.status(ctx)
		if err != nil {
			return err
		}
		return c.print(resp, t)
	case "watch":
		w, err := o.watcher(c.labels, c.watcherOptions())
		if err != nil {
			return err
		}
		return runWatch(ctx, c, w, o.header, o.row)
	}
	return fmt.Errorf("unknown command %q", c.verb)
}

// rows builds a table from objects.
func rows[T any](items []T, header []string, row func(T) []string) table {
	t := table{header: header}
	for _, it := range items {
		t.rows = append(t.rows, row(it))
	}
	return t
}

// decodeCreate reads a create file (JSON or YAML) into req when its top
// level has the request's field key (e.g. "machine"), otherwise into obj,
// the bare object. It reports which one it filled.
func decodeCreate(data []byte, key string, req, obj proto.Message) (isRequest bool, err error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return false, fmt.Errorf("not valid JSON or YAML: %w", err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(js, &top); err != nil || top == nil {
		return false, errors.New("want a JSON or YAML object")
	}
	if _, ok := top[key]; ok {
		if err := protojson.Unmarshal(js, req); err != nil {
			return true, fmt.Errorf("decoding %s: %w", req.ProtoReflect().Descriptor().Name(), err)
		}
		return true, nil
	}
	if err := protojson.Unmarshal(js, obj); err != nil {
		return false, fmt.Errorf("decoding %s (or a request with a %q field): %w", obj.ProtoReflect().Descriptor().Name(), key, err)
	}
	return false, nil
}

// checkNewObject rejects what a runtime would reject anyway, with a
// message that points at the file.
func checkNewObject[T remote.Object](obj T, kind remote.Kind) error {
	var zero T
	if obj == zero {
		return fmt.Errorf("no %s in the request", kind)
	}
	if obj.GetMetadata().GetId() != "" {
		return fmt.Errorf("metadata.id must be empty: the runtime assigns ids (got %q)", obj.GetMetadata().GetId())
	}
	return nil
}

func (c *cli) watcherOptions() remote.WatcherOptions {
	return remote.WatcherOptions{
		RelistPeriod: c.relistPeriod,
		OnStatus: func(s remote.WatcherStatus) {
			if s.Err != nil {
				fmt.Fprintf(c.stderr, "# runtime unreachable, retrying: %s\n", describe(s.Err))
			} else {
				fmt.Fprintf(c.stderr, "# connected (mode: %s)\n", s.Mode)
			}
		},
	}
}

// runWatch prints w's events until ctx is done or printing fails.
func runWatch[T remote.Object](ctx context.Context, c *cli, w *remote.Watcher[T], header []string, row func(T) []string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := &watchPrinter{c: c, header: header}
	var printErr error
	err := w.Run(ctx, func(ev remote.Event[T]) {
		if printErr != nil {
			return
		}
		var obj proto.Message
		var cells []string
		if ev.Type != remote.Synced {
			obj, cells = ev.Object, row(ev.Object)
		}
		if printErr = p.event(ev.Type, obj, cells); printErr != nil {
			cancel()
		}
	})
	if printErr != nil {
		return printErr
	}
	return err
}
