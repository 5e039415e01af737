package volume

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"google.golang.org/protobuf/proto"

	volumev1alpha1 "github.com/ironfed/ironfed/iri/apis/volume/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/runtimeerr"
	"github.com/ironfed/ironfed/providers/ceph/objstore"
)

type (
	volume   = volumev1alpha1.Volume
	snapshot = volumev1alpha1.VolumeSnapshot
)

// Names of the access data, as IronCore's ceph-provider hands them up and
// its libvirt-provider reads them.
const (
	Driver        = "ceph"
	AttrMonitors  = "monitors"
	AttrImage     = "image"
	AttrWWN       = "wwn"
	SecretUserID  = "userID"
	SecretUserKey = "userKey"
	// EncryptionKey is the key of spec.encryption.secret_data holding the
	// LUKS2 passphrase (IronCore's name).
	EncryptionKey = "encryptionKey"
)

// Options configures Volumes.
type Options struct {
	// Classes are the volume classes offered.
	Classes []objstore.VolumeClass
	// ImagePrefix marks the images (and snapshots) this runtime owns
	// (default "ironfed-").
	ImagePrefix string
	// Images finds OS images for image_data_source; nil refuses them.
	Images ImageSource
	// EventCapacity and WatchBufferSize bound memory (defaults 10000, 4096).
	EventCapacity, WatchBufferSize int
	Logger                         logr.Logger
}

// Volumes is the volume runtime's domain.
type Volumes struct {
	b         Backend
	opts      Options
	classes   map[string]objstore.VolumeClass
	access    Access
	Events    *objstore.EventLog
	Index     *objstore.Index[*volume]
	Snapshots *objstore.Index[*snapshot]
	// mu serialises changes in Ceph, so that a retried create with the same
	// UID label finds the first one, and sweeps never race a create.
	mu sync.Mutex
}

// New connects the domain to b and rebuilds the index from the pool.
func New(ctx context.Context, b Backend, opts Options) (*Volumes, error) {
	if len(opts.Classes) == 0 {
		return nil, errors.New("volume runtime: no volume classes configured")
	}
	if err := (objstore.Classes{VolumeClasses: opts.Classes}).Validate(); err != nil {
		return nil, err
	}
	if opts.ImagePrefix == "" {
		opts.ImagePrefix = "ironfed-"
	}
	v := &Volumes{b: b, opts: opts, classes: map[string]objstore.VolumeClass{}, Events: objstore.NewEventLog(opts.EventCapacity)}
	for _, c := range opts.Classes {
		v.classes[c.Name] = c
	}
	v.Index = objstore.NewIndex[*volume](labels.VolumeUIDLabel, v.Events, opts.WatchBufferSize)
	v.Snapshots = objstore.NewIndex[*snapshot](labels.VolumeSnapshotUIDLabel, v.Events, opts.WatchBufferSize)
	var err error
	if v.access, err = b.Access(ctx); err != nil {
		return nil, fmt.Errorf("volume runtime: client access for pool %s: %w", b.Pool(), err)
	}
	if err := v.load(ctx); err != nil {
		return nil, fmt.Errorf("volume runtime: reading pool %s: %w", b.Pool(), err)
	}
	return v, nil
}

// Close ends all watches.
func (v *Volumes) Close() {
	v.Index.Close()
	v.Snapshots.Close()
}

func (v *Volumes) imageName(id string) string { return v.opts.ImagePrefix + id }
func (v *Volumes) snapName(id string) string  { return v.opts.ImagePrefix + "snap-" + id }

func (v *Volumes) classNames() string {
	names := make([]string, 0, len(v.opts.Classes))
	for _, c := range v.opts.Classes {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

// Create creates the volume: an image (empty, or a flattened clone of a
// snapshot), its QoS metadata, LUKS2 if asked, and last its record. A
// failure removes the image again. A create carrying the UID label of an
// existing volume returns that volume.
func (v *Volumes) Create(ctx context.Context, in *volume) (*volume, error) {
	if in == nil {
		return nil, runtimeerr.Invalidf("volume is required")
	}
	if err := objstore.CheckNewMetadata(in.GetMetadata()); err != nil {
		return nil, err
	}
	spec := in.GetSpec()
	if spec == nil {
		return nil, runtimeerr.Invalidf("volume.spec is required")
	}
	class, ok := v.classes[spec.GetClass()]
	switch {
	case spec.GetClass() == "":
		return nil, runtimeerr.Invalidf("volume.spec.class is required; supported volume classes: %s", v.classNames())
	case !ok:
		return nil, runtimeerr.Invalidf("volume class %q is not supported; supported volume classes: %s", spec.GetClass(), v.classNames())
	}
	size := spec.GetResources().GetStorageBytes()
	if size <= 0 {
		return nil, runtimeerr.Invalidf("volume.spec.resources.storage_bytes is required and must be positive")
	}
	ds := spec.GetVolumeDataSource()
	if ds.GetImageDataSource() != nil && ds.GetSnapshotDataSource() != nil {
		return nil, runtimeerr.Invalidf("volume.spec.volume_data_source must set at most one of image_data_source and snapshot_data_source")
	}
	if ds.GetImageDataSource() != nil && ds.GetImageDataSource().GetImage() == "" {
		return nil, runtimeerr.Invalidf("volume.spec.volume_data_source.image_data_source.image is required")
	}
	var passphrase []byte
	if enc := spec.GetEncryption(); enc != nil {
		passphrase = enc.GetSecretData()[EncryptionKey]
		if len(passphrase) == 0 {
			return nil, runtimeerr.Invalidf("volume.spec.encryption.secret_data[%q] is required for an encrypted volume", EncryptionKey)
		}
	}
	uid := in.GetMetadata().GetLabels()[labels.VolumeUIDLabel]

	v.mu.Lock()
	defer v.mu.Unlock()
	if existing, ok := v.Index.ByUID(uid); ok {
		return existing, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var source *snapshot
	if src := ds.GetSnapshotDataSource(); src != nil {
		if err := objstore.CheckID("volume_data_source.snapshot_data_source.snapshot_id", src.GetSnapshotId()); err != nil {
			return nil, err
		}
		s, ok := v.Snapshots.Get(src.GetSnapshotId())
		if !ok {
			return nil, runtimeerr.NotFoundf("volume_data_source.snapshot_data_source: volume snapshot %s not found", src.GetSnapshotId())
		}
		if size < s.GetStatus().GetSize() {
			return nil, runtimeerr.Invalidf("volume of %d bytes is smaller than its source snapshot %s (%d bytes)", size, s.GetMetadata().GetId(), s.GetStatus().GetSize())
		}
		if err := v.checkRestoreEncryption(s, passphrase != nil); err != nil {
			return nil, err
		}
		source = s
	}
	if err := v.checkSpace(ctx, size); err != nil {
		v.Index.Record(in.GetMetadata(), objstore.Warning("CapacityExhausted", "Create", err.Error()))
		return nil, err
	}

	id := objstore.NewID()
	name := v.imageName(id)
	rec := volumeRecord{
		Labels: in.GetMetadata().GetLabels(), Annotations: in.GetMetadata().GetAnnotations(),
		CreatedAt: time.Now().UnixNano(), Generation: 1, Class: class.Name, WWN: newWWN(),
	}
	if source != nil {
		rec.SourceSnapshot = source.GetMetadata().GetId()
	}
	base := ""
	if img := ds.GetImageDataSource(); img != nil {
		var rootfsSize int64
		var err error
		if base, rootfsSize, err = v.baseImage(ctx, img.GetImage()); err != nil {
			return nil, err
		}
		if size < rootfsSize {
			return nil, runtimeerr.Invalidf("volume of %d bytes is smaller than the rootfs of image %s (%d bytes)", size, img.GetImage(), rootfsSize)
		}
		rec.Image = img.GetImage()
	}
	if err := v.createImage(ctx, name, uint64(size), source, base, class, passphrase, &rec); err != nil {
		if rerr := v.b.RemoveImage(context.WithoutCancel(ctx), name); rerr != nil {
			v.opts.Logger.Error(rerr, "Rolling back a failed create left an image behind; the orphan sweep removes it", "image", name)
		}
		return nil, err
	}
	obj := v.object(id, rec, size)
	v.Index.Put(obj, objstore.Normal("Created", "Create", "Created RBD image "+v.b.Pool()+"/"+name),
		objstore.Normal("Available", "Create", fmt.Sprintf("Volume of %d bytes is available", size)))
	return obj, nil
}

func (v *Volumes) createImage(ctx context.Context, name string, size uint64, source *snapshot, base string, class objstore.VolumeClass, passphrase []byte, rec *volumeRecord) error {
	if source != nil || base != "" {
		var err error
		if source != nil {
			parent := v.imageName(source.GetSpec().GetVolumeId())
			err = v.b.CloneImage(ctx, parent, v.snapName(source.GetMetadata().GetId()), name, true)
		} else {
			err = v.b.CloneImage(ctx, base, osImageSnap, name, false)
		}
		if err != nil {
			return fmt.Errorf("cloning into image %s: %w", name, err)
		}
		if cur, err := v.b.ImageSize(ctx, name); err != nil {
			return err
		} else if cur < size {
			if err := v.b.Resize(ctx, name, size); err != nil {
				return fmt.Errorf("growing restored image %s: %w", name, err)
			}
		}
		// The clone carries the parent's metadata: drop its records.
		md, err := v.b.Metadata(ctx, name)
		if err != nil {
			return err
		}
		for k := range md {
			if k == recordKey || k == osImageKey || strings.HasPrefix(k, snapshotKeyPrefix) {
				if err := v.b.RemoveMetadata(ctx, name, k); err != nil {
					return err
				}
			}
		}
	} else if err := v.b.CreateImage(ctx, name, size); err != nil {
		if errors.Is(err, ErrExists) {
			return runtimeerr.Errorf(runtimeerr.KindAlreadyExists, "image %s exists already", name)
		}
		return fmt.Errorf("creating image %s: %w", name, err)
	}
	qos := map[string]string{}
	if class.IOPS > 0 {
		qos[qosIOPSKey] = strconv.FormatInt(class.IOPS, 10)
	}
	if class.TPS > 0 {
		qos[qosBPSKey] = strconv.FormatInt(class.TPS, 10)
	}
	if err := v.b.SetMetadata(ctx, name, qos); err != nil {
		return fmt.Errorf("setting QoS of image %s: %w", name, err)
	}
	switch {
	case passphrase != nil && source != nil:
		// The clone holds the source's LUKS2 header and ciphertext: the restore opens with the
		// source's key or not at all (formatting would lose the data).
		if err := v.b.LoadLUKS2(ctx, name, passphrase); err != nil {
			return runtimeerr.Errorf(runtimeerr.KindFailedPrecondition, "volume.spec.encryption does not hold the key of the volume snapshot %s was taken of: restore it with that key (%v)", source.GetMetadata().GetId(), err)
		}
		rec.Encryption = "luks2"
	case passphrase != nil:
		if err := v.b.EncryptLUKS2(ctx, name, passphrase); err != nil {
			return runtimeerr.Errorf(runtimeerr.KindFailedPrecondition, "formatting image %s with LUKS2: %v", name, err)
		}
		rec.Encryption = "luks2"
	}
	return v.b.SetMetadata(ctx, name, map[string]string{recordKey: marshal(*rec)})
}

// checkRestoreEncryption: a restore is encrypted exactly when its snapshot's volume was (that
// volume cannot be deleted while it has snapshots, so the index holds it).
func (v *Volumes) checkRestoreEncryption(s *snapshot, withKey bool) error {
	src, ok := v.Index.Get(s.GetSpec().GetVolumeId())
	encrypted := ok && src.GetStatus().GetAccess().GetAttributes()["encryption"] != ""
	switch {
	case encrypted && !withKey:
		return runtimeerr.Errorf(runtimeerr.KindFailedPrecondition, "volume snapshot %s is of an encrypted volume: restore it with volume.spec.encryption carrying that volume's key", s.GetMetadata().GetId())
	case !encrypted && withKey:
		return runtimeerr.Errorf(runtimeerr.KindFailedPrecondition, "volume snapshot %s is of an unencrypted volume, and its data cannot be encrypted in place: restore it without volume.spec.encryption", s.GetMetadata().GetId())
	}
	return nil
}

// object builds the IRI volume; every volume in the index is Available,
// because an RBD image is usable once created.
func (v *Volumes) object(id string, rec volumeRecord, size int64) *volume {
	spec := &volumev1alpha1.VolumeSpec{Class: rec.Class, Resources: &volumev1alpha1.VolumeResources{StorageBytes: size}}
	switch {
	case rec.SourceSnapshot != "":
		spec.VolumeDataSource = &volumev1alpha1.VolumeDataSource{SnapshotDataSource: &volumev1alpha1.SnapshotDataSource{SnapshotId: rec.SourceSnapshot}}
	case rec.Image != "":
		spec.VolumeDataSource = &volumev1alpha1.VolumeDataSource{ImageDataSource: &volumev1alpha1.ImageDataSource{Image: rec.Image}}
	}
	handle := v.b.Pool() + "/" + v.imageName(id)
	attrs := map[string]string{AttrMonitors: v.access.Monitors, AttrImage: handle, AttrWWN: rec.WWN}
	if rec.Encryption != "" {
		attrs["encryption"] = rec.Encryption
	}
	return &volume{
		Metadata: rec.metadata(id),
		Spec:     spec,
		Status: &volumev1alpha1.VolumeStatus{
			State: volumev1alpha1.VolumeState_VOLUME_AVAILABLE,
			Access: &volumev1alpha1.VolumeAccess{
				Driver: Driver, Handle: handle, Attributes: attrs,
				SecretData: map[string][]byte{SecretUserID: []byte(v.access.UserID), SecretUserKey: []byte(v.access.UserKey)},
			},
			Resources: &volumev1alpha1.VolumeResources{StorageBytes: size},
		},
	}
}

// checkSpace refuses a volume larger than what the pool can still store.
// Images are thin, so this only catches requests that can never fit.
func (v *Volumes) checkSpace(ctx context.Context, size int64) error {
	stored, avail, err := v.b.PoolSpace(ctx)
	if err != nil {
		return runtimeerr.Errorf(runtimeerr.KindUnavailable, "reading the free space of pool %s: %v", v.b.Pool(), err)
	}
	if total := stored + avail; uint64(size) > total {
		return runtimeerr.Errorf(runtimeerr.KindExhausted, "a volume of %d bytes does not fit pool %s (%d bytes in total, %d free); ask for less or add OSDs", size, v.b.Pool(), total, avail)
	}
	return nil
}

// Expand grows the volume; shrinking is InvalidArgument.
func (v *Volumes) Expand(ctx context.Context, id string, storageBytes int64) error {
	if err := objstore.CheckID("volume_id", id); err != nil {
		return err
	}
	if storageBytes <= 0 {
		return runtimeerr.Invalidf("resources.storage_bytes is required and must be positive")
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	cur, ok := v.Index.Get(id)
	if !ok {
		return runtimeerr.NotFoundf("volume %s not found", id)
	}
	size := cur.GetSpec().GetResources().GetStorageBytes()
	switch {
	case storageBytes < size:
		return runtimeerr.Invalidf("volume %s has %d bytes; RBD volumes can only grow, not shrink to %d bytes", id, size, storageBytes)
	case storageBytes == size:
		return nil
	}
	if err := v.checkSpace(ctx, storageBytes); err != nil {
		return err
	}
	name := v.imageName(id)
	if err := v.b.Resize(ctx, name, uint64(storageBytes)); err != nil {
		return fmt.Errorf("resizing image %s: %w", name, err)
	}
	next := proto.Clone(cur).(*volume)
	next.Metadata.Generation++
	next.Spec.Resources.StorageBytes = storageBytes
	next.Status.Resources.StorageBytes = storageBytes
	rec := v.recordOf(next)
	if err := v.b.SetMetadata(ctx, name, map[string]string{recordKey: marshal(rec)}); err != nil {
		return fmt.Errorf("updating the record of image %s (it has grown to %d bytes already): %w", name, storageBytes, err)
	}
	v.Index.Put(next, objstore.Normal("Expanded", "Expand", fmt.Sprintf("Volume expanded from %d to %d bytes", size, storageBytes)))
	return nil
}

func (v *Volumes) recordOf(o *volume) volumeRecord {
	md := o.GetMetadata()
	return volumeRecord{
		Labels: md.GetLabels(), Annotations: md.GetAnnotations(), CreatedAt: md.GetCreatedAt(), Generation: md.GetGeneration(),
		Class: o.GetSpec().GetClass(), WWN: o.GetStatus().GetAccess().GetAttributes()[AttrWWN],
		Encryption: o.GetStatus().GetAccess().GetAttributes()["encryption"], SourceSnapshot: o.GetSpec().GetVolumeDataSource().GetSnapshotDataSource().GetSnapshotId(),
		Image: o.GetSpec().GetVolumeDataSource().GetImageDataSource().GetImage(),
	}
}

// Delete removes the volume's image. A missing volume is success; a volume
// with snapshots is FailedPrecondition (RBD keeps snapshots in the image).
func (v *Volumes) Delete(ctx context.Context, id string) error {
	if err := objstore.CheckID("volume_id", id); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.Index.Get(id); !ok {
		return nil
	}
	var snaps []string
	all, _ := v.Snapshots.List(objstore.Filter{})
	for _, s := range all {
		if s.GetSpec().GetVolumeId() == id {
			snaps = append(snaps, s.GetMetadata().GetId())
		}
	}
	if len(snaps) > 0 {
		return runtimeerr.Errorf(runtimeerr.KindFailedPrecondition, "volume %s has snapshots %s; delete them first", id, strings.Join(snaps, ", "))
	}
	name := v.imageName(id)
	if err := v.b.RemoveImage(ctx, name); err != nil {
		return fmt.Errorf("removing image %s: %w", name, err)
	}
	v.Index.Remove(id, objstore.Normal("Deleted", "Delete", "Deleted RBD image "+v.b.Pool()+"/"+name))
	return nil
}

// Status reports every class with the pool's total capacity (stored plus
// still available bytes, read from Ceph), ironfed's "total" convention.
func (v *Volumes) Status(ctx context.Context) ([]*volumev1alpha1.VolumeClassStatus, error) {
	stored, avail, err := v.b.PoolSpace(ctx)
	if err != nil {
		return nil, runtimeerr.Errorf(runtimeerr.KindUnavailable, "reading the space of pool %s: %v", v.b.Pool(), err)
	}
	out := make([]*volumev1alpha1.VolumeClassStatus, 0, len(v.opts.Classes))
	for _, c := range v.opts.Classes {
		out = append(out, &volumev1alpha1.VolumeClassStatus{
			VolumeClass: &volumev1alpha1.VolumeClass{Name: c.Name, Capabilities: &volumev1alpha1.VolumeClassCapabilities{Tps: c.TPS, Iops: c.IOPS}},
			Quantity:    int64(stored + avail),
		})
	}
	return out, nil
}

// newWWN returns a random NAA-6 style WWN (32 hex characters).
func newWWN() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[0] = 0x60 | b[0]&0x0f
	return hex.EncodeToString(b[:])
}
