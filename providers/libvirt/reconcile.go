package libvirt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/runtimeerr"
	"github.com/ironfed/ironfed/providers/libvirt/image"
)

// reconcile brings one machine's domain to its spec and refreshes its status.
func (p *Provider) reconcile(ctx context.Context, id string) {
	p.mu.Lock()
	r, ok := p.machines[id]
	if !ok {
		p.mu.Unlock()
		return
	}
	obj, deleting := r.obj, r.deleting
	p.mu.Unlock()
	if deleting {
		if err := p.destroy(id); err != nil {
			p.event(obj, EventWarning, "DeleteFailed", err.Error())
			p.enqueueAfter(id, 5*time.Second)
			return
		}
		p.mu.Lock()
		delete(p.machines, id)
		for uid, mid := range p.byUID {
			if mid == id {
				delete(p.byUID, uid)
			}
		}
		p.publishLocked(machinev1alpha1.WatchEventType_MACHINE_WATCH_EVENT_DELETED, obj)
		p.mu.Unlock()
		p.event(obj, EventNormal, "Deleted", "Domain, disks and directory removed")
		p.gcImages()
		return
	}
	requeue, err := p.apply(ctx, r, obj)
	if err != nil {
		p.event(obj, EventWarning, "ReconcileFailed", err.Error())
		requeue = 5 * time.Second
	}
	p.refreshStatus(id, obj.Metadata.Generation, err == nil && requeue == 0)
	if requeue > 0 {
		p.enqueueAfter(id, requeue)
	}
}

// apply does one step towards the spec; a positive duration asks to be called again.
func (p *Provider) apply(ctx context.Context, r *record, obj *machine) (time.Duration, error) {
	id := obj.Metadata.Id
	dom, err := p.lv.DomainLookupByName(id)
	if isNotFound(err) {
		// Someone undefined it behind our back: define it again from the spec.
		if err := p.redefine(obj, golibvirt.Domain{}, nil, nil); err != nil {
			return 0, err
		}
		p.event(obj, EventWarning, "DomainRecreated", "The domain was gone; defined it again")
		return time.Second, nil
	}
	if err != nil {
		return 0, fmt.Errorf("looking up domain: %w", err)
	}
	st, _, err := p.lv.DomainGetState(dom, 0)
	if err != nil {
		return 0, err
	}
	running := golibvirt.DomainState(st) != golibvirt.DomainShutoff
	if !running {
		r.shutdownSince = time.Time{}
		img, err := p.bootImage(ctx, r, obj)
		if err != nil {
			return 0, err
		}
		disks, err := p.ensureDisks(obj, img)
		if err != nil {
			return 0, err
		}
		if err := p.redefine(obj, dom, img, disks); err != nil {
			return 0, err
		}
		if obj.Spec.Power == machinev1alpha1.Power_POWER_ON {
			if err := p.lv.DomainCreate(dom); err != nil {
				return 0, fmt.Errorf("starting domain: %w", err)
			}
			p.event(obj, EventNormal, "Started", "Domain started")
		}
		return 0, nil
	}
	if obj.Spec.Power == machinev1alpha1.Power_POWER_OFF {
		if r.shutdownSince.IsZero() {
			r.shutdownSince = time.Now()
			if err := p.lv.DomainShutdownFlags(dom, golibvirt.DomainShutdownAcpiPowerBtn); err != nil {
				p.event(obj, EventWarning, "ShutdownFailed", "ACPI shutdown: "+err.Error()+"; destroying")
				r.shutdownSince = time.Time{}.Add(1) // destroy on the next step
			} else {
				p.event(obj, EventNormal, "ShuttingDown", fmt.Sprintf("ACPI power button pressed; destroying after %s", p.cfg.ShutdownTimeout))
			}
			return time.Second, nil
		}
		if time.Since(r.shutdownSince) < p.cfg.ShutdownTimeout {
			return time.Second, nil
		}
		if err := p.lv.DomainDestroy(dom); err != nil && !isNotFound(err) {
			return 0, fmt.Errorf("destroying domain after the shutdown timeout: %w", err)
		}
		r.shutdownSince = time.Time{}
		p.event(obj, EventNormal, "Destroyed", fmt.Sprintf("Guest did not power off within %s", p.cfg.ShutdownTimeout))
		return 0, nil
	}
	r.shutdownSince = time.Time{}
	return p.hotplug(obj, dom)
}

// bootImage pulls the image of the machine's image disk (if any) into the cache.
func (p *Provider) bootImage(ctx context.Context, r *record, obj *machine) (*image.Image, error) {
	ref := ""
	for _, v := range obj.Spec.Volumes {
		if s := v.GetLocalDisk().GetImage().GetImage(); s != "" {
			ref = s
		}
	}
	if ref == "" {
		return nil, nil
	}
	if r.imageDigest != "" {
		if img, err := p.images.Open(digestOf(r.imageDigest)); err == nil {
			return img, nil
		}
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	start := time.Now()
	img, err := p.images.Pull(pctx, ref)
	if err != nil {
		if errors.Is(err, image.ErrNotFound) {
			return nil, fmt.Errorf("image %s not found in its registry", ref)
		}
		return nil, fmt.Errorf("pulling image %s: %w", ref, err)
	}
	p.mu.Lock()
	r.imageDigest = img.Digest.String()
	cur := r.obj
	p.mu.Unlock()
	if err := p.persist(cur, img.Digest.String()); err != nil {
		return nil, err
	}
	p.event(obj, EventNormal, "Pulled", fmt.Sprintf("Pulled image %s (%s) in %s", ref, img.Digest, time.Since(start).Round(time.Millisecond)))
	return img, nil
}

// diskFile is the qcow2 of a local disk.
func (p *Provider) diskFile(id, volume string) string {
	return filepath.Join(p.machineDir(id), "disk-"+aliasSafe(volume)+".qcow2")
}

// ensureDisks creates missing local disks (an overlay over the image's rootfs for the image disk, an
// empty qcow2 otherwise), grows them offline to their size, and returns every disk's spec.
func (p *Provider) ensureDisks(obj *machine, img *image.Image) ([]diskSpec, error) {
	var out []diskSpec
	for _, v := range obj.Spec.Volumes {
		d, err := p.diskSpecOf(obj.Metadata.Id, v)
		if err != nil {
			return nil, err
		}
		if ld := v.GetLocalDisk(); ld != nil {
			base := ""
			if ld.GetImage().GetImage() != "" && img != nil {
				if img.RootFS == "" {
					continue // a kernel-only image boots directly and has no disk
				}
				base = img.RootFS
			}
			if err := ensureQcow2(d.File, base, ld.SizeBytes); err != nil {
				return nil, fmt.Errorf("volume %s: %w", v.Name, err)
			}
		}
		out = append(out, d)
	}
	return out, nil
}

func (p *Provider) diskSpecOf(id string, v *machinev1alpha1.Volume) (diskSpec, error) {
	target, err := targetOf(v.Device)
	if err != nil {
		return diskSpec{}, err
	}
	d := diskSpec{Name: v.Name, Target: target, Serial: serialOf(v.Name)}
	if v.GetLocalDisk() != nil {
		d.File = p.diskFile(id, v.Name)
		return d, nil
	}
	c := v.GetConnection()
	pool, img, err := splitPoolImage(c.Handle)
	if err != nil {
		return d, runtimeerr.Invalidf("%v", err)
	}
	cd := &cephDisk{Pool: pool, Image: img, User: string(c.SecretData[cephUserIDSecret]), ConfigFile: p.cephConf}
	for _, m := range strings.Split(c.Attributes[cephMonitorsAttr], ",") {
		if m = strings.TrimSpace(m); m != "" {
			cd.Monitors = append(cd.Monitors, m)
		}
	}
	if key := c.SecretData[cephUserKeySecret]; len(key) > 0 && cd.User != "" {
		if cd.SecretUUID, err = p.ensureCephSecret(id, v.Name, key); err != nil {
			return d, err
		}
	}
	d.Ceph = cd
	return d, nil
}

// redefine writes the full persistent definition of a stopped domain (with the current metadata).
func (p *Provider) redefine(obj *machine, dom golibvirt.Domain, img *image.Image, disks []diskSpec) error {
	p.mu.Lock()
	defer p.mu.Unlock() // against a concurrent persist() writing newer metadata
	r, ok := p.machines[obj.Metadata.Id]
	if !ok {
		return errGone
	}
	meta, err := p.metaXML(r.obj, r.imageDigest, false)
	if err != nil {
		return err
	}
	s := p.baseDomain(r.obj, meta)
	if dom.UUID != ([16]byte{}) {
		s.UUID = uuidString(dom.UUID)
	}
	s.Disks = disks
	if img != nil && img.Kernel != "" {
		s.Kernel, s.Initrd, s.Cmdline = img.Kernel, img.InitRAMFS, img.CommandLine
	}
	x, err := renderDomain(s)
	if err != nil {
		return err
	}
	if _, err := p.lv.DomainDefineXMLFlags(x, golibvirt.DomainDefineValidate); err != nil {
		return fmt.Errorf("defining domain: %w", err)
	}
	return nil
}

// hotplug makes a running domain's disks and NICs match the spec: attach, detach (by alias,
// asynchronous: the guest completes the unplug), and live resize.
func (p *Provider) hotplug(obj *machine, dom golibvirt.Domain) (time.Duration, error) {
	live, err := p.liveXML(dom)
	if err != nil {
		return 0, err
	}
	id := obj.Metadata.Id
	flags := golibvirt.DomainDeviceModifyLive | golibvirt.DomainDeviceModifyConfig
	haveDisks := map[string]libvirtxml.DomainDisk{}
	for _, d := range live.Devices.Disks {
		if d.Alias != nil && strings.HasPrefix(d.Alias.Name, "ua-vol-") {
			haveDisks[d.Alias.Name] = d
		}
	}
	want := map[string]bool{}
	var errs []error
	for _, v := range obj.Spec.Volumes {
		alias := diskAlias(v.Name)
		want[alias] = true
		if ld := v.GetLocalDisk(); ld != nil && ld.GetImage().GetImage() != "" {
			if _, ok := haveDisks[alias]; !ok {
				continue // kernel-only boot image: no disk
			}
		}
		d, err := p.diskSpecOf(id, v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if have, ok := haveDisks[alias]; ok {
			if err := p.resizeLive(dom, have, v); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if ld := v.GetLocalDisk(); ld != nil {
			if err := ensureQcow2(d.File, "", ld.SizeBytes); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		x, err := renderDisk(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s, _ := x.Marshal()
		if err := p.lv.DomainAttachDeviceFlags(dom, s, uint32(flags)); err != nil {
			errs = append(errs, fmt.Errorf("attaching volume %s: %w", v.Name, err))
			continue
		}
		p.event(obj, EventNormal, "VolumeAttached", "Attached volume "+v.Name+" as "+d.Target)
	}
	for alias := range haveDisks {
		if !want[alias] {
			if err := p.lv.DomainDetachDeviceAlias(dom, alias, uint32(flags)); err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Errorf("detaching %s: %w", alias, err))
			} else {
				p.event(obj, EventNormal, "VolumeDetached", "Requested unplug of "+strings.TrimPrefix(alias, "ua-vol-"))
			}
		}
	}
	haveNICs := map[string]bool{}
	for _, n := range live.Devices.Interfaces {
		if n.Alias != nil && strings.HasPrefix(n.Alias.Name, "ua-nic-") {
			haveNICs[n.Alias.Name] = true
		}
	}
	want = map[string]bool{}
	for _, n := range obj.Spec.NetworkInterfaces {
		alias := nicAlias(n.Name)
		want[alias] = true
		if haveNICs[alias] {
			continue
		}
		nx := renderNIC(nicSpec{Name: n.Name, MAC: macOf(id, n), Bridge: n.Attributes[bridgeAttr]})
		s, _ := nx.Marshal()
		if err := p.lv.DomainAttachDeviceFlags(dom, s, uint32(flags)); err != nil {
			errs = append(errs, fmt.Errorf("attaching network interface %s: %w", n.Name, err))
			continue
		}
		p.event(obj, EventNormal, "NetworkInterfaceAttached", "Attached network interface "+n.Name)
	}
	for alias := range haveNICs {
		if !want[alias] {
			if err := p.lv.DomainDetachDeviceAlias(dom, alias, uint32(flags)); err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Errorf("detaching %s: %w", alias, err))
			}
		}
	}
	return 0, errors.Join(errs...)
}

// resizeLive grows a running disk to the volume's size (local disks: the qcow2; ceph: the size the
// volume provider already gave the image).
func (p *Provider) resizeLive(dom golibvirt.Domain, have libvirtxml.DomainDisk, v *machinev1alpha1.Volume) error {
	want := v.GetLocalDisk().GetSizeBytes()
	if c := v.GetConnection(); c != nil {
		want = c.EffectiveStorageBytes
	}
	if want <= 0 || have.Target == nil {
		return nil
	}
	_, capacity, _, err := p.lv.DomainGetBlockInfo(dom, have.Target.Dev, 0)
	if err != nil {
		return fmt.Errorf("volume %s: reading its size: %w", v.Name, err)
	}
	if int64(capacity) >= want {
		return nil
	}
	if err := p.lv.DomainBlockResize(dom, have.Target.Dev, uint64(want), golibvirt.DomainBlockResizeBytes); err != nil {
		return fmt.Errorf("volume %s: resizing to %d bytes: %w", v.Name, want, err)
	}
	return nil
}

func (p *Provider) liveXML(dom golibvirt.Domain) (*libvirtxml.Domain, error) {
	s, err := p.lv.DomainGetXMLDesc(dom, 0)
	if err != nil {
		return nil, err
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(s); err != nil {
		return nil, err
	}
	if d.Devices == nil {
		d.Devices = &libvirtxml.DomainDeviceList{}
	}
	return &d, nil
}

// destroy removes everything of a machine: domain (destroyed and undefined), its ceph secrets, its
// directory (disks, ignition, console log). Missing pieces are fine.
func (p *Provider) destroy(id string) error {
	dom, err := p.lv.DomainLookupByName(id)
	switch {
	case isNotFound(err):
	case err != nil:
		return err
	default:
		if st, _, err := p.lv.DomainGetState(dom, 0); err == nil && golibvirt.DomainState(st) != golibvirt.DomainShutoff {
			if err := p.lv.DomainDestroy(dom); err != nil && !isNotFound(err) {
				return fmt.Errorf("destroying domain: %w", err)
			}
		}
		if err := p.lv.DomainUndefineFlags(dom, golibvirt.DomainUndefineNvram|golibvirt.DomainUndefineManagedSave); err != nil && !isNotFound(err) {
			return fmt.Errorf("undefining domain: %w", err)
		}
	}
	p.removeCephSecrets(id)
	if err := os.RemoveAll(p.machineDir(id)); err != nil {
		return err
	}
	return nil
}

// gcImages drops cached image blobs no machine refers to.
func (p *Provider) gcImages() {
	p.mu.Lock()
	var keep []string
	for _, r := range p.machines {
		if r.imageDigest != "" {
			keep = append(keep, r.imageDigest)
		}
	}
	p.mu.Unlock()
	if n, err := p.images.GC(digestsOf(keep)); err == nil && n > 0 {
		p.log.V(1).Info("Removed unreferenced image blobs", "count", n)
	}
}
