// Package rotest gives tests a directory they can fill and then make truly read-only, the way
// a database on a read-only medium or a file someone else owns is. It exists because tests
// here often run as root, which ignores file modes: as root the directory is a small tmpfs
// that is remounted read-only (EROFS for everyone); otherwise the directory and its files lose
// their write bits (EACCES).
package rotest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Dir returns an empty directory and a seal function that makes it and everything in it
// read-only. The directory is cleaned up when the test ends.
func Dir(t testing.TB) (dir string, seal func()) {
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
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "tandem-rotest", dir).CombinedOutput(); err != nil {
		t.Skipf("running as root without a way to make a read-only medium (mount tmpfs: %v: %s)", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
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
