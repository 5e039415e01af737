package libvirt

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	golibvirt "github.com/digitalocean/go-libvirt"
	"google.golang.org/protobuf/encoding/protojson"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/labels"
	"github.com/ironfed/ironfed/iri/runtimeerr"
)

// detectDomainType resolves "auto": kvm only when libvirt offers it, /dev/kvm opens and the CPU has
// vmx or svm. libvirt alone is not enough: a kvm_pvm host advertises kvm but cannot boot Linux guests.
func (p *Provider) detectDomainType() (string, error) {
	if p.cfg.DomainType != DomainTypeAuto {
		return p.cfg.DomainType, nil
	}
	caps, err := p.lv.ConnectGetCapabilities()
	if err != nil {
		return "", runtimeerr.Errorf(runtimeerr.KindUnavailable, "reading libvirt capabilities: %v", err)
	}
	if !strings.Contains(caps, "<domain type='kvm'") && !strings.Contains(caps, `<domain type="kvm"`) {
		return DomainTypeQEMU, nil
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return DomainTypeQEMU, nil
	}
	_ = f.Close()
	cpuinfo, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return DomainTypeQEMU, nil
	}
	for _, line := range bytes.Split(cpuinfo, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("flags")) {
			fields := strings.Fields(string(line))
			for _, f := range fields {
				if f == "vmx" || f == "svm" {
					return DomainTypeKVM, nil
				}
			}
			break
		}
	}
	return DomainTypeQEMU, nil
}

// rebuild loads every machine from the domains this provider owns and sweeps what it owns but does
// not know: domains whose metadata is unreadable or whose directory is gone (left by a crash between
// creating and deleting), and machine directories without a domain.
func (p *Provider) rebuild() error {
	doms, _, err := p.lv.ConnectListAllDomains(1, 0)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, dom := range doms {
		raw, err := p.lv.DomainGetMetadata(dom, int32(golibvirt.DomainMetadataElement), golibvirt.OptString{MetadataURI}, golibvirt.DomainAffectConfig)
		if err != nil {
			continue // not ours (no ironfed metadata)
		}
		meta, err := parseDomainMeta(raw)
		if err != nil || meta.Owner != p.cfg.Owner {
			continue // another provider's domain, or one whose owner cannot be told: leave it
		}
		var m machinev1alpha1.Machine
		if err := protojson.Unmarshal([]byte(meta.Machine), &m); err != nil || m.GetMetadata().GetId() != dom.Name || m.Spec == nil {
			p.sweepDomain(dom, "metadata does not hold its machine")
			continue
		}
		id := dom.Name
		if _, err := os.Stat(p.machineDir(id)); err != nil {
			p.sweepDomain(dom, "its machine directory is gone")
			continue
		}
		if len(m.Spec.IgnitionData) == 0 {
			if b, err := os.ReadFile(p.ignitionFile(id)); err == nil {
				m.Spec.IgnitionData = b
			}
		}
		m.Status = &machinev1alpha1.MachineStatus{State: machinev1alpha1.MachineState_MACHINE_PENDING}
		m.Status.Volumes, m.Status.NetworkInterfaces = pendingStatus(m.Spec)
		r := &record{obj: &m, imageDigest: meta.ImageDigest}
		if m.Metadata.DeletedAt != 0 {
			r.deleting = true
		}
		p.machines[id] = r
		if uid := m.Metadata.Labels[labels.MachineUIDLabel]; uid != "" {
			p.byUID[uid] = id
		}
		known[id] = true
		p.dirty[id] = true
	}
	// Directories without a domain: a create that crashed before defining, or a delete that crashed
	// after undefining.
	ents, err := os.ReadDir(filepath.Join(p.cfg.RootDir, "machines"))
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !known[e.Name()] {
			p.log.Info("Sweeping orphaned machine directory", "dir", e.Name())
			_ = os.RemoveAll(filepath.Join(p.cfg.RootDir, "machines", e.Name()))
			p.removeCephSecrets(e.Name())
		}
	}
	// Stale files in known machines' directories (disks of volumes no longer in the spec).
	for id, r := range p.machines {
		want := map[string]bool{"ignition": true, "console.log": true}
		for _, v := range r.obj.Spec.Volumes {
			want[filepath.Base(p.diskFile(id, v.Name))] = true
		}
		files, _ := os.ReadDir(p.machineDir(id))
		for _, f := range files {
			if !want[f.Name()] {
				p.log.Info("Sweeping stale machine file", "machine", id, "file", f.Name())
				_ = os.Remove(filepath.Join(p.machineDir(id), f.Name()))
			}
		}
	}
	p.gcImages()
	return nil
}

// sweepDomain destroys and undefines a domain this provider owns but cannot adopt.
func (p *Provider) sweepDomain(dom golibvirt.Domain, why string) {
	p.log.Info("Sweeping orphaned domain", "domain", dom.Name, "reason", why)
	_ = p.destroy(dom.Name)
}
