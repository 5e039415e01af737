//go:build ceph

package rbd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/ceph/go-ceph/rados"
	librbd "github.com/ceph/go-ceph/rbd"

	"github.com/ironfed/ironfed/providers/ceph/volume"
)

// Built reports whether this build links librbd (the ceph build tag).
const Built = true

type conn struct {
	opts  Options
	rados *rados.Conn
	ioctx *rados.IOContext
}

var _ Conn = (*conn)(nil)

// Open connects to the cluster and opens the pool. librbd calls block and
// do not take contexts; librados' op timeouts bound them instead.
func Open(_ context.Context, opts Options) (Conn, error) {
	opts = opts.withDefaults()
	if opts.Monitors == "" {
		return nil, errors.New("rbd: monitors are required (host:port,...)")
	}
	rc, err := rados.NewConnWithUser(opts.User)
	if err != nil {
		return nil, fmt.Errorf("rbd: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			rc.Shutdown()
		}
	}()
	if opts.ConfigFile != "" {
		if err := rc.ReadConfigFile(opts.ConfigFile); err != nil {
			return nil, fmt.Errorf("rbd: reading %s: %w", opts.ConfigFile, err)
		}
	}
	t := strconv.Itoa(opts.TimeoutSeconds)
	settings := [][2]string{{"mon_host", opts.Monitors}, {"client_mount_timeout", t}, {"rados_mon_op_timeout", t}, {"rados_osd_op_timeout", t}}
	switch {
	case opts.Key != "":
		settings = append(settings, [2]string{"key", opts.Key})
	case opts.ConfigFile == "":
		settings = append(settings, [2]string{"keyring", "/dev/null"})
	}
	for _, kv := range settings {
		if err := rc.SetConfigOption(kv[0], kv[1]); err != nil {
			return nil, fmt.Errorf("rbd: setting %s: %w", kv[0], err)
		}
	}
	if err := rc.Connect(); err != nil {
		return nil, fmt.Errorf("rbd: connecting to %s as client.%s: %w", opts.Monitors, opts.User, err)
	}
	ioctx, err := rc.OpenIOContext(opts.Pool)
	if err != nil {
		return nil, fmt.Errorf("rbd: opening pool %s: %w", opts.Pool, err)
	}
	ok = true
	return &conn{opts: opts, rados: rc, ioctx: ioctx}, nil
}

func (c *conn) Close() {
	c.ioctx.Destroy()
	c.rados.Shutdown()
}

func (c *conn) Pool() string { return c.opts.Pool }

func (c *conn) ListImages(context.Context) ([]string, error) {
	return librbd.GetImageNames(c.ioctx)
}

func (c *conn) CreateImage(_ context.Context, name string, size uint64) error {
	opts := librbd.NewRbdImageOptions()
	defer opts.Destroy()
	err := librbd.CreateImage(c.ioctx, name, size, opts)
	if errors.Is(err, librbd.ErrExist) {
		return volume.ErrExists
	}
	return err
}

func (c *conn) CloneImage(_ context.Context, parent, snap, child string, flatten bool) error {
	opts := librbd.NewRbdImageOptions()
	defer opts.Destroy()
	if err := librbd.CloneImage(c.ioctx, parent, snap, c.ioctx, child, opts); err != nil {
		return err
	}
	if !flatten {
		return nil
	}
	return c.withImage(child, func(img *librbd.Image) error { return img.Flatten() })
}

func (c *conn) WriteImage(_ context.Context, name string, r io.Reader) error {
	return c.withImage(name, func(img *librbd.Image) error {
		if _, err := io.CopyBuffer(img, r, make([]byte, 4<<20)); err != nil {
			return err
		}
		return img.Flush()
	})
}

// RemoveImage removes the image and any snapshots it still has; a missing
// image is done.
func (c *conn) RemoveImage(_ context.Context, name string) error {
	err := c.withImage(name, func(img *librbd.Image) error {
		snaps, err := img.GetSnapshotNames()
		if err != nil {
			return err
		}
		for _, s := range snaps {
			if err := removeSnapshot(img, s.Name); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, librbd.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := librbd.RemoveImage(c.ioctx, name); err != nil && !errors.Is(err, librbd.ErrNotFound) {
		return err
	}
	return nil
}

func (c *conn) ImageSize(_ context.Context, name string) (size uint64, err error) {
	err = c.withImage(name, func(img *librbd.Image) error {
		size, err = img.GetSize()
		return err
	})
	return size, err
}

func (c *conn) Resize(_ context.Context, name string, size uint64) error {
	return c.withImage(name, func(img *librbd.Image) error { return img.Resize(size) })
}

func (c *conn) Metadata(_ context.Context, name string) (md map[string]string, err error) {
	err = c.withImage(name, func(img *librbd.Image) error {
		md, err = img.ListMetadata()
		return err
	})
	return md, err
}

func (c *conn) SetMetadata(_ context.Context, name string, kv map[string]string) error {
	return c.withImage(name, func(img *librbd.Image) error {
		for k, v := range kv {
			if err := img.SetMetadata(k, v); err != nil {
				return fmt.Errorf("metadata %s: %w", k, err)
			}
		}
		return nil
	})
}

func (c *conn) RemoveMetadata(_ context.Context, name, key string) error {
	err := c.withImage(name, func(img *librbd.Image) error { return img.RemoveMetadata(key) })
	if errors.Is(err, librbd.ErrNotFound) {
		return nil
	}
	return err
}

func (c *conn) CreateSnapshot(_ context.Context, name, snap string) error {
	return c.withImage(name, func(img *librbd.Image) error {
		s, err := img.CreateSnapshot(snap)
		if err != nil {
			return err
		}
		return s.Protect()
	})
}

func (c *conn) RemoveSnapshot(_ context.Context, name, snap string) error {
	err := c.withImage(name, func(img *librbd.Image) error { return removeSnapshot(img, snap) })
	if errors.Is(err, librbd.ErrNotFound) {
		return nil
	}
	return err
}

func removeSnapshot(img *librbd.Image, snap string) error {
	s := img.GetSnapshot(snap)
	protected, err := s.IsProtected()
	if errors.Is(err, librbd.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if protected {
		if err := s.Unprotect(); err != nil {
			return fmt.Errorf("unprotecting %s: %w", snap, err)
		}
	}
	if err := s.Remove(); err != nil && !errors.Is(err, librbd.ErrNotFound) {
		return err
	}
	return nil
}

func (c *conn) ListSnapshots(_ context.Context, name string) ([]string, error) {
	var out []string
	err := c.withImage(name, func(img *librbd.Image) error {
		snaps, err := img.GetSnapshotNames()
		for _, s := range snaps {
			out = append(out, s.Name)
		}
		return err
	})
	return out, err
}

func (c *conn) EncryptLUKS2(_ context.Context, name string, passphrase []byte) error {
	return c.withImage(name, func(img *librbd.Image) error {
		return img.EncryptionFormat(librbd.EncryptionOptionsLUKS2{Alg: librbd.EncryptionAlgorithmAES256, Passphrase: passphrase})
	})
}

func (c *conn) LoadLUKS2(_ context.Context, name string, passphrase []byte) error {
	return c.withImage(name, func(img *librbd.Image) error {
		return img.EncryptionLoad(librbd.EncryptionOptionsLUKS2{Alg: librbd.EncryptionAlgorithmAES256, Passphrase: passphrase})
	})
}

func (c *conn) withImage(name string, f func(*librbd.Image) error) error {
	img, err := librbd.OpenImage(c.ioctx, name, librbd.NoSnapshot)
	if err != nil {
		return err
	}
	defer img.Close()
	return f(img)
}

func (c *conn) WriteAt(_ context.Context, image string, passphrase, p []byte, off int64) error {
	return c.withImage(image, func(img *librbd.Image) error {
		if passphrase != nil {
			if err := img.EncryptionLoad(librbd.EncryptionOptionsLUKS2{Alg: librbd.EncryptionAlgorithmAES256, Passphrase: passphrase}); err != nil {
				return err
			}
		}
		_, err := img.WriteAt(p, off)
		if err == nil {
			err = img.Flush()
		}
		return err
	})
}

func (c *conn) ReadAt(_ context.Context, image string, passphrase, p []byte, off int64) error {
	return c.withImage(image, func(img *librbd.Image) error {
		if passphrase != nil {
			if err := img.EncryptionLoad(librbd.EncryptionOptionsLUKS2{Alg: librbd.EncryptionAlgorithmAES256, Passphrase: passphrase}); err != nil {
				return err
			}
		}
		_, err := img.ReadAt(p, off)
		return err
	})
}

// monCommand runs a monitor command and returns its output.
func (c *conn) monCommand(args map[string]any) ([]byte, error) {
	args["format"] = "json"
	cmd, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	out, info, err := c.rados.MonCommand(cmd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (%s)", args["prefix"], err, info)
	}
	return out, nil
}

func (c *conn) PoolSpace(context.Context) (stored, avail uint64, err error) {
	out, err := c.monCommand(map[string]any{"prefix": "df"})
	if err != nil {
		return 0, 0, err
	}
	var df struct {
		Pools []struct {
			Name  string `json:"name"`
			Stats struct {
				Stored   uint64 `json:"stored"`
				MaxAvail uint64 `json:"max_avail"`
			} `json:"stats"`
		} `json:"pools"`
	}
	if err := json.Unmarshal(out, &df); err != nil {
		return 0, 0, fmt.Errorf("df: %w", err)
	}
	for _, p := range df.Pools {
		if p.Name == c.opts.Pool {
			return p.Stats.Stored, p.Stats.MaxAvail, nil
		}
	}
	return 0, 0, fmt.Errorf("df does not list pool %s", c.opts.Pool)
}

// Access returns the monitors and the restricted client user, creating it
// or correcting its caps first.
func (c *conn) Access(context.Context) (volume.Access, error) {
	entity := "client." + c.opts.ClientUser
	caps := []string{"mon", "profile rbd", "osd", "profile rbd pool=" + c.opts.Pool}
	out, err := c.monCommand(map[string]any{"prefix": "auth get-or-create", "entity": entity, "caps": caps})
	if err != nil {
		// The user exists with other caps: correct them, then read its key.
		if _, cerr := c.monCommand(map[string]any{"prefix": "auth caps", "entity": entity, "caps": caps}); cerr != nil {
			return volume.Access{}, errors.Join(err, cerr)
		}
		if out, err = c.monCommand(map[string]any{"prefix": "auth get", "entity": entity}); err != nil {
			return volume.Access{}, err
		}
	}
	var users []struct {
		Entity string `json:"entity"`
		Key    string `json:"key"`
	}
	if err := json.Unmarshal(out, &users); err != nil || len(users) == 0 || users[0].Key == "" {
		return volume.Access{}, fmt.Errorf("auth get-or-create %s returned no key (%v)", entity, err)
	}
	return volume.Access{Monitors: c.opts.Monitors, UserID: c.opts.ClientUser, UserKey: users[0].Key}, nil
}

func (c *conn) UserCaps(_ context.Context, entity string) (string, error) {
	out, err := c.monCommand(map[string]any{"prefix": "auth get", "entity": entity})
	return string(out), err
}
