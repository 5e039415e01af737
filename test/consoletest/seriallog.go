package consoletest

import (
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"
)

// SerialLog is a guest's serial console as the host's QEMU logs it to a file: the test guest
// prints what it saw (ignition, NIC, disks) as IRONFED-GUEST lines there.
type SerialLog struct {
	T    testing.TB
	Path string
	// Timeout bounds each wait: a TCG boot takes tens of seconds to minutes on loaded cores.
	Timeout time.Duration
}

// Read returns the log so far (empty before QEMU created it).
func (c *SerialLog) Read() string {
	b, _ := os.ReadFile(c.Path)
	return string(b)
}

// Wait waits until literal occurs at least n times, and fails the test after Timeout.
func (c *SerialLog) Wait(literal string, n int) {
	c.T.Helper()
	c.WaitRE(regexp.QuoteMeta(literal), n)
}

// WaitDisk waits until the guest reported a disk with serial and size n times. Disks are matched
// by serial: the guest names virtio disks in probe order, whatever the target says.
func (c *SerialLog) WaitDisk(serial string, bytes int64, n int) {
	c.T.Helper()
	c.WaitRE(`IRONFED-GUEST disk vd[a-z]+ serial=`+regexp.QuoteMeta(serial)+` sectors=`+fmt.Sprint(bytes/512)+`\b`, n)
}

// WaitRE waits until pattern matches at least n times, and fails the test after Timeout.
func (c *SerialLog) WaitRE(pattern string, n int) {
	c.T.Helper()
	re := regexp.MustCompile(pattern)
	deadline := time.Now().Add(c.Timeout)
	for len(re.FindAllStringIndex(c.Read(), -1)) < n {
		if time.Now().After(deadline) {
			c.T.Fatalf("the guest's console %s never showed %q (%d times) within %s", c.Path, pattern, n, c.Timeout)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
