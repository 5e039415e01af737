package libvirt

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/opencontainers/go-digest"
	"libvirt.org/go/libvirtxml"
)

// QemuImg is the qemu-img binary used for disks.
var QemuImg = "qemu-img"

// ensureQcow2 creates path as a qcow2 of size bytes (an overlay over the raw base if given; size 0
// keeps the base's size) or grows an existing one (offline) to size.
func ensureQcow2(path, base string, size int64) error {
	if _, err := os.Stat(path); err == nil {
		cur, err := qcow2Size(path)
		if err != nil {
			return err
		}
		if size > cur {
			return run(QemuImg, "resize", "-f", "qcow2", path, strconv.FormatInt(size, 10))
		}
		return nil
	}
	args := []string{"create", "-q", "-f", "qcow2"}
	if base != "" {
		args = append(args, "-F", "raw", "-b", base)
	}
	tmp := path + ".tmp"
	args = append(args, tmp)
	if size > 0 {
		args = append(args, strconv.FormatInt(size, 10))
	}
	if err := run(QemuImg, args...); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

func qcow2Size(path string) (int64, error) {
	out, err := exec.Command(QemuImg, "info", "--output=json", "-U", path).Output()
	if err != nil {
		return 0, fmt.Errorf("qemu-img info %s: %w", path, err)
	}
	var info struct {
		VirtualSize int64 `json:"virtual-size"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return 0, err
	}
	return info.VirtualSize, nil
}

func run(name string, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// cephSecretUsage names the libvirt secret holding a volume's ceph key.
func cephSecretUsage(machineID, volume string) string {
	return "ironfed-" + machineID + "-" + aliasSafe(volume)
}

// ensureCephSecret stores key in a private libvirt secret for the machine's volume and returns its UUID.
func (p *Provider) ensureCephSecret(machineID, volume string, key []byte) (string, error) {
	usage := cephSecretUsage(machineID, volume)
	h := sha256.Sum256([]byte(usage))
	id, _ := uuid.FromBytes(h[:16])
	x, err := (&libvirtxml.Secret{
		Ephemeral: "no", Private: "yes", UUID: id.String(),
		Usage: &libvirtxml.SecretUsage{Type: "ceph", Name: usage},
	}).Marshal()
	if err != nil {
		return "", err
	}
	sec, err := p.lv.SecretDefineXML(x, 0)
	if err != nil {
		return "", fmt.Errorf("defining the ceph secret of volume %s: %w", volume, err)
	}
	// libvirt stores a secret's raw bytes and hands QEMU their base64; a cephx key arrives as the
	// base64 text Ceph prints, so it is stored decoded (stored as text, librbd gets a wrong key: EINVAL).
	if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(key))); err == nil {
		key = raw
	}
	if err := p.lv.SecretSetValue(sec, key, 0); err != nil {
		return "", fmt.Errorf("setting the ceph secret of volume %s: %w", volume, err)
	}
	return id.String(), nil
}

// removeCephSecrets removes every secret of the machine.
func (p *Provider) removeCephSecrets(machineID string) {
	secs, _, err := p.lv.ConnectListAllSecrets(1, 0)
	if err != nil {
		return
	}
	for _, s := range secs {
		if strings.HasPrefix(s.UsageID, "ironfed-"+machineID+"-") {
			_ = p.lv.SecretUndefine(s)
		}
	}
}

func digestOf(s string) digest.Digest { return digest.Digest(s) }

func digestsOf(ss []string) []digest.Digest {
	out := make([]digest.Digest, len(ss))
	for i, s := range ss {
		out[i] = digest.Digest(s)
	}
	return out
}

func nowUnix() int64 { return time.Now().Unix() }

func uuidString(b [16]byte) string { return uuid.UUID(b).String() }
