package main

// The machine the numbers come from.

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

type machine struct {
	Cores     int     `json:"cores"`
	MemoryGiB float64 `json:"memory_gib"`
	CPU       string  `json:"cpu"`
	Kernel    string  `json:"kernel"`
}

func (m machine) String() string {
	return fmt.Sprintf("%d cores (%s), %.1f GiB memory, Linux %s", m.Cores, m.CPU, m.MemoryGiB, m.Kernel)
}

func describeMachine() machine {
	m := machine{Cores: runtime.NumCPU(), CPU: "unknown", Kernel: "unknown"}
	if dt, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(dt), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if dt, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(dt), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				m.MemoryGiB = kb / (1 << 20)
			}
		}
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		var b strings.Builder
		for _, c := range u.Release {
			if c == 0 {
				break
			}
			b.WriteByte(byte(c))
		}
		m.Kernel = b.String()
	}
	return m
}

// load1 is the 1-minute load average, or 0 when unknown.
func load1() float64 {
	dt, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(dt))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
