package volume

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ironfed/ironfed/providers/ceph/objstore"
)

// load rebuilds the index from the pool: every image with our prefix and a
// record is a volume, every record of a snapshot whose RBD snapshot exists
// is a snapshot.
func (v *Volumes) load(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	names, err := v.b.ListImages(ctx)
	if err != nil {
		return err
	}
	for _, name := range names {
		id, ok := strings.CutPrefix(name, v.opts.ImagePrefix)
		if !ok || !objstore.ValidID(id) {
			continue
		}
		md, err := v.b.Metadata(ctx, name)
		if err != nil {
			return fmt.Errorf("image %s: %w", name, err)
		}
		raw, ok := md[recordKey]
		if !ok {
			continue // half-created: the sweep removes it
		}
		var rec volumeRecord
		if err := json.Unmarshal([]byte(raw), &rec); err != nil {
			v.opts.Logger.Error(err, "Ignoring an image with an unreadable record", "image", name)
			continue
		}
		size, err := v.b.ImageSize(ctx, name)
		if err != nil {
			return fmt.Errorf("image %s: %w", name, err)
		}
		v.Index.Put(v.object(id, rec, int64(size)))
		snaps, err := v.b.ListSnapshots(ctx, name)
		if err != nil {
			return fmt.Errorf("snapshots of image %s: %w", name, err)
		}
		have := map[string]bool{}
		for _, s := range snaps {
			have[s] = true
		}
		for k, raw := range md {
			sid, ok := snapshotIDFromKey(k)
			if !ok || !have[v.snapName(sid)] {
				continue
			}
			var srec snapshotRecord
			if err := json.Unmarshal([]byte(raw), &srec); err != nil {
				v.opts.Logger.Error(err, "Ignoring a snapshot with an unreadable record", "image", name, "key", k)
				continue
			}
			v.Snapshots.Put(v.snapshotObject(sid, id, srec))
		}
	}
	v.opts.Logger.Info("Loaded volumes from the pool", "pool", v.b.Pool(), "volumes", v.Index.Len(), "snapshots", v.Snapshots.Len())
	return nil
}

// Sweep removes what this runtime owns in the pool but does not know:
// images with its prefix and no record (a create that crashed half-way),
// RBD snapshots with its prefix and no record, and records of snapshots
// whose RBD snapshot is gone. It returns what it removed.
func (v *Volumes) Sweep(ctx context.Context) ([]string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	names, err := v.b.ListImages(ctx)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, name := range names {
		id, ok := strings.CutPrefix(name, v.opts.ImagePrefix)
		if !ok || !objstore.ValidID(id) {
			continue
		}
		if _, known := v.Index.Get(id); !known {
			if err := v.b.RemoveImage(ctx, name); err != nil {
				return removed, fmt.Errorf("removing orphan image %s: %w", name, err)
			}
			removed = append(removed, name)
			continue
		}
		snaps, err := v.b.ListSnapshots(ctx, name)
		if err != nil {
			return removed, err
		}
		for _, s := range snaps {
			sid, ok := strings.CutPrefix(s, v.opts.ImagePrefix+"snap-")
			if !ok {
				continue
			}
			if _, known := v.Snapshots.Get(sid); !known {
				if err := v.b.RemoveSnapshot(ctx, name, s); err != nil {
					return removed, fmt.Errorf("removing orphan snapshot %s@%s: %w", name, s, err)
				}
				removed = append(removed, name+"@"+s)
			}
		}
		md, err := v.b.Metadata(ctx, name)
		if err != nil {
			return removed, err
		}
		for k := range md {
			if sid, ok := snapshotIDFromKey(k); ok {
				if _, known := v.Snapshots.Get(sid); !known {
					if err := v.b.RemoveMetadata(ctx, name, k); err != nil {
						return removed, err
					}
					removed = append(removed, name+":"+k)
				}
			}
		}
	}
	if len(removed) > 0 {
		v.opts.Logger.Info("Removed orphans from the pool", "pool", v.b.Pool(), "removed", removed)
	}
	return removed, nil
}
