package memory

import (
	"fmt"
	"strings"

	machinev1alpha1 "github.com/ironfed/ironfed/iri/apis/machine/v1alpha1"
	"github.com/ironfed/ironfed/iri/runtimeerr"
)

func checkPower(p machinev1alpha1.Power) error {
	switch p {
	case machinev1alpha1.Power_POWER_ON, machinev1alpha1.Power_POWER_OFF:
		return nil
	}
	return runtimeerr.Invalidf("power %d is not valid; use POWER_ON or POWER_OFF", int32(p))
}

func checkMachineVolume(v *machinev1alpha1.Volume) error {
	if v.Name == "" {
		return runtimeerr.Invalidf("volume.name is required")
	}
	switch {
	case (v.LocalDisk == nil) == (v.Connection == nil):
		return runtimeerr.Invalidf("volume %q must set exactly one of local_disk and connection", v.Name)
	case v.LocalDisk != nil && v.LocalDisk.SizeBytes < 0:
		return runtimeerr.Invalidf("volume %q: local_disk.size_bytes must not be negative", v.Name)
	case v.Connection != nil && (v.Connection.Driver == "" || v.Connection.Handle == ""):
		return runtimeerr.Invalidf("volume %q: connection.driver and connection.handle are required", v.Name)
	}
	return nil
}

func checkNIC(n *machinev1alpha1.NetworkInterface) error {
	if n.Name == "" {
		return runtimeerr.Invalidf("network_interface.name is required")
	}
	return nil
}

// settleMachine makes the status what the spec asks for: powered machines
// run, unpowered ones are shut down (SUSPENDED, which upstream's poollet
// shows as "Shutdown"), attachments get handles, observed_generation
// catches up.
func settleMachine(m *machine) (bool, []eventRecord) {
	st, id := m.Status, m.Metadata.Id
	changed := false
	var evs []eventRecord

	want := machinev1alpha1.MachineState_MACHINE_RUNNING
	if m.Spec.Power == machinev1alpha1.Power_POWER_OFF {
		want = machinev1alpha1.MachineState_MACHINE_SUSPENDED
	}
	if st.State != want {
		st.State, changed = want, true
		if want == machinev1alpha1.MachineState_MACHINE_RUNNING {
			evs = append(evs, normal("Started", "PowerOn", "Machine is running"))
		} else {
			evs = append(evs, normal("Stopped", "PowerOff", "Machine is shut down"))
		}
	}

	oldVols := map[string]*machinev1alpha1.VolumeStatus{}
	for _, vs := range st.Volumes {
		oldVols[vs.Name] = vs
	}
	vols := make([]*machinev1alpha1.VolumeStatus, 0, len(m.Spec.Volumes))
	for _, v := range m.Spec.Volumes {
		handle := volumeHandle(id, v)
		if old := oldVols[v.Name]; old != nil && old.State == machinev1alpha1.VolumeState_VOLUME_ATTACHED && old.Handle == handle {
			vols = append(vols, old)
			delete(oldVols, v.Name)
			continue
		}
		delete(oldVols, v.Name)
		vols = append(vols, &machinev1alpha1.VolumeStatus{Name: v.Name, Handle: handle, State: machinev1alpha1.VolumeState_VOLUME_ATTACHED})
		evs = append(evs, normal("VolumeAttached", "AttachVolume", fmt.Sprintf("Volume %q attached", v.Name)))
		changed = true
	}
	for name := range oldVols {
		evs = append(evs, normal("VolumeDetached", "DetachVolume", fmt.Sprintf("Volume %q detached", name)))
		changed = true
	}
	st.Volumes = vols

	oldNICs := map[string]*machinev1alpha1.NetworkInterfaceStatus{}
	for _, ns := range st.NetworkInterfaces {
		oldNICs[ns.Name] = ns
	}
	nics := make([]*machinev1alpha1.NetworkInterfaceStatus, 0, len(m.Spec.NetworkInterfaces))
	for _, n := range m.Spec.NetworkInterfaces {
		if old := oldNICs[n.Name]; old != nil && old.State == machinev1alpha1.NetworkInterfaceState_NETWORK_INTERFACE_ATTACHED {
			nics = append(nics, old)
			delete(oldNICs, n.Name)
			continue
		}
		delete(oldNICs, n.Name)
		nics = append(nics, &machinev1alpha1.NetworkInterfaceStatus{
			Name:   n.Name,
			Handle: "memory://" + id + "/nic/" + n.Name,
			State:  machinev1alpha1.NetworkInterfaceState_NETWORK_INTERFACE_ATTACHED,
		})
		evs = append(evs, normal("NetworkInterfaceAttached", "AttachNetworkInterface", fmt.Sprintf("Network interface %q attached", n.Name)))
		changed = true
	}
	for name := range oldNICs {
		evs = append(evs, normal("NetworkInterfaceDetached", "DetachNetworkInterface", fmt.Sprintf("Network interface %q detached", name)))
		changed = true
	}
	st.NetworkInterfaces = nics

	if st.ObservedGeneration != m.Metadata.Generation {
		st.ObservedGeneration, changed = m.Metadata.Generation, true
	}
	return changed, evs
}

// volumeHandle is the attachment handle: the connection's handle for a
// remote volume, a made-up one for a local disk.
func volumeHandle(machineID string, v *machinev1alpha1.Volume) string {
	if v.Connection != nil {
		return v.Connection.Handle
	}
	return "memory://" + machineID + "/disk/" + v.Name
}

func joinOrNone(names []string) string {
	if len(names) == 0 {
		return "(none configured)"
	}
	return strings.Join(names, ", ")
}
