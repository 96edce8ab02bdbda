package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LambdaFullCPUMB is the memory size at which Lambda gives a function one
// whole vCPU; below it the function gets memory/1769 of one.
const LambdaFullCPUMB = 1769

// cfsPeriodUS is the CFS period of the quota, the kernel's default.
const cfsPeriodUS = 100000

// CPULimit is a Linux cgroup that holds the processes in it to a share of
// one CPU with a CFS quota, as Lambda holds a function to its memory's
// share while it handles a request.
type CPULimit struct {
	dir string
	v2  bool
}

// ErrNoCPULimit means this machine or user cannot make a CPU-limited cgroup.
var ErrNoCPULimit = errors.New("cannot limit CPU here: it needs root and a cgroup v1 cpu or cgroup v2 hierarchy at /sys/fs/cgroup")

// NewCPULimit makes a cgroup named name, with no limit yet.
func NewCPULimit(name string) (*CPULimit, error) {
	if os.Geteuid() != 0 {
		return nil, ErrNoCPULimit
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil && strings.Contains(string(b), "cpu") {
		// cgroup v2: the cpu controller must be enabled for children.
		_ = os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte("+cpu"), 0o600)
		c := &CPULimit{dir: filepath.Join("/sys/fs/cgroup", name), v2: true}
		if err := os.Mkdir(c.dir, 0o750); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%w: %v", ErrNoCPULimit, err)
		}
		return c, nil
	}
	if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"); err == nil {
		c := &CPULimit{dir: filepath.Join("/sys/fs/cgroup/cpu", name)}
		if err := os.Mkdir(c.dir, 0o750); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%w: %v", ErrNoCPULimit, err)
		}
		return c, nil
	}
	return nil, ErrNoCPULimit
}

// Set limits the group to share of one CPU; share <= 0 or >= 1 lifts the limit.
func (c *CPULimit) Set(share float64) error {
	quota := -1
	if share > 0 && share < 1 {
		quota = int(share * cfsPeriodUS)
	}
	if c.v2 {
		v := "max " + strconv.Itoa(cfsPeriodUS)
		if quota > 0 {
			v = strconv.Itoa(quota) + " " + strconv.Itoa(cfsPeriodUS)
		}
		return os.WriteFile(filepath.Join(c.dir, "cpu.max"), []byte(v), 0o600)
	}
	if err := os.WriteFile(filepath.Join(c.dir, "cpu.cfs_period_us"), []byte(strconv.Itoa(cfsPeriodUS)), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.dir, "cpu.cfs_quota_us"), []byte(strconv.Itoa(quota)), 0o600)
}

// Wrap returns a command line that joins the group and then execs argv, so
// that the program is limited from its first instruction.
func (c *CPULimit) Wrap(argv ...string) []string {
	return append([]string{"/bin/sh", "-c", `echo $$ > "$0" && shift && exec "$@"`, filepath.Join(c.dir, "cgroup.procs"), "--"}, argv...)
}

// Close removes the group; its processes must have exited.
func (c *CPULimit) Close() error { return os.Remove(c.dir) }
