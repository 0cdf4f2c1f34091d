// Package mediatest gives tests directories that behave like awkward media: one they can fill
// and then make truly read-only, and a small one that fills up. Tests here often run as root,
// which ignores file modes, so a read-only directory is a small tmpfs remounted read-only
// (EROFS for everyone) when root, and loses its write bits otherwise (EACCES). A small one is a
// tmpfs of a given size, which needs root.
package mediatest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ReadOnlyDir returns an empty directory and a seal function that makes it and everything in
// it read-only. The directory is cleaned up when the test ends.
func ReadOnlyDir(t testing.TB) (dir string, seal func()) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		return dir, func() {
			t.Helper()
			chmodAll(t, dir, 0o555, 0o444)
			t.Cleanup(func() { chmodAll(t, dir, 0o755, 0o644) })
		}
	}
	mount(t, dir, "16m")
	return dir, func() {
		t.Helper()
		if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
			t.Fatalf("remount %s read-only: %v: %s", dir, err, out)
		}
	}
}

func chmodAll(t testing.TB, dir string, dirMode, fileMode os.FileMode) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() {
			return os.Chmod(p, dirMode)
		}
		return os.Chmod(p, fileMode)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// SmallDir returns an empty directory on a medium of the given size ("4m"), which a test
// can fill. It needs root (to mount a tmpfs); without it the test is skipped, saying so.
func SmallDir(t testing.TB, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		t.Skip("a medium that fills up is a tmpfs of a set size, which only root can mount")
	}
	mount(t, dir, size)
	return dir
}

// mount puts a tmpfs of the given size on dir until the test ends.
func mount(t testing.TB, dir, size string) {
	t.Helper()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "tandem-mediatest", dir).CombinedOutput(); err != nil {
		t.Skipf("running as root without the right to mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}
