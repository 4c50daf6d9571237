package cabitest

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// fdSummary describes this process's open file descriptors by kind, and TCP
// sockets by which side of which loopback server they are, so a leak report
// says whose connections stayed open.
func fdSummary() string {
	ports := map[string]string{portOf(devURL): "module→proxy", portOf(devKMSURL): "proxy→devkms"}
	socks := tcpSockets()
	counts := map[string]int{}
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil {
			continue
		}
		kind := target
		if ino, ok := strings.CutPrefix(target, "socket:["); ok {
			kind = "socket (not TCP)"
			if s, ok := socks[strings.TrimSuffix(ino, "]")]; ok {
				switch {
				case ports[s.remote] != "":
					kind = "client " + ports[s.remote] + " " + s.state
				case ports[s.local] != "":
					kind = "server " + ports[s.local] + " " + s.state
				default:
					kind = "tcp other " + s.state
				}
			}
		} else if i := strings.IndexAny(target, ":"); i > 0 {
			kind = target[:i]
		}
		counts[kind]++
	}
	var out []string
	for k, n := range counts {
		out = append(out, fmt.Sprintf("%d × %s", n, k))
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

type tcpSocket struct{ local, remote, state string }

// tcpSockets parses /proc/self/net/tcp and tcp6 into socket inode → ports and state.
func tcpSockets() map[string]tcpSocket {
	states := map[string]string{"01": "ESTABLISHED", "06": "TIME_WAIT", "08": "CLOSE_WAIT", "0A": "LISTEN"}
	out := map[string]tcpSocket{}
	for _, f := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 10 {
				continue
			}
			st := states[fs[3]]
			if st == "" {
				st = "state " + fs[3]
			}
			out[fs[9]] = tcpSocket{local: hexPort(fs[1]), remote: hexPort(fs[2]), state: st}
		}
	}
	return out
}

func hexPort(addr string) string {
	i := strings.LastIndexByte(addr, ':')
	n, _ := strconv.ParseUint(addr[i+1:], 16, 16)
	return strconv.FormatUint(n, 10)
}

func portOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.Port()
}
