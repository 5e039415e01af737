package volume

import (
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"sync"
)

// fakeBackend is an in-memory RBD pool; fail makes the named method fail.
type fakeBackend struct {
	mu     sync.Mutex
	images map[string]*fakeImage
	fail   map[string]error
}

type fakeImage struct {
	size  uint64
	md    map[string]string
	snaps []string
	// luks is the passphrase of the image's LUKS2 header (nil: none).
	luks []byte
}

var errNoImage = errors.New("no such image")

func newFake() *fakeBackend {
	return &fakeBackend{images: map[string]*fakeImage{}, fail: map[string]error{}}
}

func (f *fakeBackend) img(name string) (*fakeImage, error) {
	i, ok := f.images[name]
	if !ok {
		return nil, errNoImage
	}
	return i, nil
}

func (f *fakeBackend) call(name string) error { return f.fail[name] }

func (f *fakeBackend) Pool() string { return "rbd" }
func (f *fakeBackend) ListImages(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.images)), f.call("ListImages")
}
func (f *fakeBackend) CreateImage(_ context.Context, name string, size uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreateImage"); err != nil {
		return err
	}
	if _, ok := f.images[name]; ok {
		return ErrExists
	}
	f.images[name] = &fakeImage{size: size, md: map[string]string{}}
	return nil
}
func (f *fakeBackend) WriteImage(_ context.Context, name string, r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return errors.Join(err, f.call("WriteImage"))
}
func (f *fakeBackend) CloneImage(_ context.Context, parent, snap, child string, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.img(parent)
	if err != nil {
		return err
	}
	f.images[child] = &fakeImage{size: p.size, md: maps.Clone(p.md), luks: p.luks}
	return f.call("CloneImage")
}
func (f *fakeBackend) RemoveImage(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("RemoveImage"); err != nil {
		return err
	}
	delete(f.images, name)
	return nil
}
func (f *fakeBackend) ImageSize(_ context.Context, name string) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.img(name)
	if err != nil {
		return 0, err
	}
	return i.size, nil
}
func (f *fakeBackend) Resize(_ context.Context, name string, size uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.img(name)
	if err != nil {
		return err
	}
	i.size = size
	return f.call("Resize")
}
func (f *fakeBackend) Metadata(_ context.Context, name string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.img(name)
	if err != nil {
		return nil, err
	}
	return maps.Clone(i.md), nil
}
func (f *fakeBackend) SetMetadata(_ context.Context, name string, kv map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.img(name)
	if err != nil {
		return err
	}
	if _, ok := kv[recordKey]; ok {
		if err := f.call("SetRecord"); err != nil {
			return err
		}
	}
	maps.Copy(i.md, kv)
	return nil
}
func (f *fakeBackend) RemoveMetadata(_ context.Context, name, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i, err := f.img(name); err == nil {
		delete(i.md, key)
	}
	return nil
}
func (f *fakeBackend) CreateSnapshot(_ context.Context, name, snap string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.img(name)
	if err != nil {
		return err
	}
	i.snaps = append(i.snaps, snap)
	return f.call("CreateSnapshot")
}
func (f *fakeBackend) RemoveSnapshot(_ context.Context, name, snap string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i, err := f.img(name); err == nil {
		i.snaps = slices.DeleteFunc(i.snaps, func(s string) bool { return s == snap })
	}
	return nil
}
func (f *fakeBackend) ListSnapshots(_ context.Context, name string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.img(name)
	if err != nil {
		return nil, err
	}
	return slices.Clone(i.snaps), nil
}
func (f *fakeBackend) EncryptLUKS2(_ context.Context, name string, passphrase []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i, err := f.img(name); err == nil {
		i.luks = passphrase
	}
	return f.call("EncryptLUKS2")
}
func (f *fakeBackend) LoadLUKS2(_ context.Context, name string, passphrase []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.img(name)
	if err != nil {
		return err
	}
	if i.luks == nil || string(i.luks) != string(passphrase) {
		return errors.New("invalid passphrase")
	}
	return f.call("LoadLUKS2")
}
func (f *fakeBackend) PoolSpace(context.Context) (uint64, uint64, error) {
	return 1 << 30, 9 << 30, f.call("PoolSpace")
}
func (f *fakeBackend) Access(context.Context) (Access, error) {
	return Access{Monitors: "10.0.0.1:6789", UserID: "ironfed-rbd", UserKey: "key"}, f.call("Access")
}
