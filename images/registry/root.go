package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// checkWritable fails, naming the cause and the fix, when the filesystem root cannot be
// written: a volume whose provisioner ignores the pod's fsGroup (hostPath, some local
// provisioners) stays owned by root, and the registry, which runs as 65532, would otherwise
// start, pass its health checks and fail only the first push, with a 500.
func checkWritable(root string) error {
	f, err := os.CreateTemp(root, ".airgap-write-check-")
	if err != nil {
		return fmt.Errorf("filesystem root %s is not writable by uid %d (gid %d): %v; if it is a volume whose provisioner ignores fsGroup, run `registry -prepare-root %d:%d` as root on it first (the provider does with storage.volume.fix_permissions)",
			root, os.Getuid(), os.Getgid(), errors.Unwrap(err), os.Getuid(), os.Getgid())
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// prepareRoot gives the filesystem root to owner ("UID:GID"), for an init container that runs
// as root with CAP_CHOWN alone: only the root directory itself, which is all a new volume has.
func prepareRoot(root, owner string) error {
	u, g, ok := strings.Cut(owner, ":")
	uid, uerr := strconv.Atoi(u)
	gid, gerr := strconv.Atoi(g)
	if !ok || uerr != nil || gerr != nil || uid < 0 || gid < 0 {
		return fmt.Errorf("-prepare-root %q: want UID:GID, numeric", owner)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid && int(st.Gid) == gid {
		fmt.Printf("registry: %s already belongs to %d:%d\n", root, uid, gid)
		return nil
	}
	if err := os.Chown(root, uid, gid); err != nil {
		return err
	}
	fmt.Printf("registry: %s now belongs to %d:%d\n", root, uid, gid)
	return nil
}
