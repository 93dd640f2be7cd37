package bench

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ProcSample is what /proc tells about a process at one moment.
type ProcSample struct {
	// CPU is user + system time so far, the process's own plus that of its
	// children it has waited for (the server's ffmpeg runs, say).
	CPU    time.Duration
	RSSKiB int64 // VmRSS
	HWMKiB int64 // VmHWM: the peak RSS so far
}

// SampleProc reads /proc/PID/stat and /proc/PID/status.
func SampleProc(pid int) (ProcSample, error) {
	var s ProcSample
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name (field 2) is in parentheses and may hold spaces and
	// parentheses itself; the fields after its last ')' are plain.
	paren := bytes.LastIndexByte(stat, ')')
	if paren < 0 {
		return s, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(stat[paren+1:]))
	if len(f) < 15 {
		return s, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	// f[0] is field 3 (state), so utime, stime, cutime and cstime (fields
	// 14 to 17) are f[11] to f[14].
	var ticks int64
	for _, field := range f[11:15] {
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return s, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
		}
		ticks += n
	}
	s.CPU = time.Duration(ticks) * time.Second / time.Duration(clockTicks())

	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch k {
		case "VmRSS":
			dst = &s.RSSKiB
		case "VmHWM":
			dst = &s.HWMKiB
		default:
			continue
		}
		*dst, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
	}
	return s, nil
}

// selfCPU is this process's user + system time, from getrusage.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat times. Without
// cgo there is no sysconf(_SC_CLK_TCK); the kernel hands every process the value
// in its auxiliary vector (AT_CLKTCK), and it is 100 on every common platform.
func clockTicks() int64 {
	const atClkTck = 17
	if b, err := os.ReadFile("/proc/self/auxv"); err == nil && strconv.IntSize == 64 {
		for i := 0; i+16 <= len(b); i += 16 {
			k, v := binary.NativeEndian.Uint64(b[i:]), binary.NativeEndian.Uint64(b[i+8:])
			if k == atClkTck && v > 0 {
				return int64(v)
			}
		}
	}
	return 100
}

// ListenerPID finds the process listening on TCP port: it looks the port up
// among the listening sockets in /proc/net/tcp and tcp6, then looks for a
// process holding that socket among /proc/*/fd. Only processes this user may
// inspect are seen; 0 means none was found (or more than one: SO_REUSEPORT).
func ListenerPID(port int) int {
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			if len(f) < 10 || f[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(f[1], ":")
			if p, err := strconv.ParseInt(hexPort, 16, 32); !ok || err != nil || int(p) != port {
				continue
			}
			inodes["socket:["+f[9]+"]"] = true
		}
	}
	if len(inodes) == 0 {
		return 0
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	found := 0
	for _, fd := range fds {
		target, err := os.Readlink(fd)
		if err != nil || !inodes[target] {
			continue
		}
		pid, err := strconv.Atoi(strings.Split(fd, "/")[2])
		if err != nil {
			continue
		}
		if found != 0 && found != pid {
			return 0
		}
		found = pid
	}
	return found
}
