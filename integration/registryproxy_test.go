package integration

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// registryProxy stands in front of the real registry (hack/setup's) on a
// loopback port of its own, and can demand basic auth and inject faults:
// what a flaky or locked registry does, without touching the real one.
type registryProxy struct {
	addr string
	// user and password, when set, are demanded with a Basic challenge.
	user, password string
	// fault, when set, is asked about each request (after auth): it
	// returns faultNone to forward it, or the fault to inject.
	fault func(r *http.Request, n int) fault

	mu  sync.Mutex
	log []proxied
	// seen counts the requests fault was asked about, by faultClass.
	seen map[string]int
}

// proxied is one request the proxy answered.
type proxied struct {
	Method, Path string
	Status       int // 0: reset
	Fault        fault
}

type fault int

const (
	faultNone fault = iota
	// fault500 answers 500 Internal Server Error.
	fault500
	// faultReset resets the TCP connection (RST) without answering.
	faultReset
)

func (f fault) String() string {
	return [...]string{"forward", "500", "reset"}[f]
}

// faultClass groups a registry request by what it does: "blob-upload"
// (POST/PATCH/PUT under /blobs/uploads/), "manifest-put", or "".
func faultClass(r *http.Request) string {
	switch {
	case strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Method != http.MethodGet && r.Method != http.MethodHead:
		return "blob-upload"
	case strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodPut:
		return "manifest-put"
	}
	return ""
}

// startRegistryProxy starts a proxy to the registry at upstream (host:port)
// and stops it when the test ends.
func startRegistryProxy(t *testing.T, upstream string, setup func(*registryProxy)) *registryProxy {
	t.Helper()
	p := &registryProxy{seen: map[string]int{}}
	if setup != nil {
		setup(p)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = l.Addr().String()
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: upstream})
	// The Host header stays the proxy's: the registry builds its upload
	// Location URLs from it, so that uploads come back through us.
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.user != "" {
			if u, pw, ok := r.BasicAuth(); !ok || u != p.user || pw != p.password {
				w.Header().Set("WWW-Authenticate", `Basic realm="crossllb-test"`)
				w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				p.record(r, http.StatusUnauthorized, faultNone)
				return
			}
		}
		f := faultNone
		if p.fault != nil {
			p.mu.Lock()
			class := faultClass(r)
			p.seen[class]++
			n := p.seen[class]
			p.mu.Unlock()
			f = p.fault(r, n)
		}
		switch f {
		case fault500:
			p.record(r, http.StatusInternalServerError, f)
			http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"injected fault"}]}`, http.StatusInternalServerError)
			return
		case faultReset:
			p.record(r, 0, f)
			reset(w)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		rp.ServeHTTP(rec, r)
		p.record(r, rec.status, faultNone)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return p
}

// reset closes the request's connection with an RST: SO_LINGER 0.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok { // not with net/http's HTTP/1.1 server
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}

func (p *registryProxy) record(r *http.Request, status int, f fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, proxied{Method: r.Method, Path: r.URL.Path, Status: status, Fault: f})
}

// requests returns what the proxy answered so far.
func (p *registryProxy) requests() []proxied {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]proxied(nil), p.log...)
}

// summary counts the answered requests by method, class and outcome.
func (p *registryProxy) summary() string {
	counts := map[string]int{}
	var keys []string
	for _, r := range p.requests() {
		k := fmt.Sprintf("%s %s %d", r.Method, faultClassOf(r), r.Status)
		if r.Fault != faultNone {
			k = fmt.Sprintf("%s %s %s(injected)", r.Method, faultClassOf(r), r.Fault)
		}
		if counts[k] == 0 {
			keys = append(keys, k)
		}
		counts[k]++
	}
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%dx %s; ", counts[k], k)
	}
	return b.String()
}

func faultClassOf(r proxied) string {
	c := faultClass(&http.Request{Method: r.Method, URL: &url.URL{Path: r.Path}})
	if c == "" {
		c = "other"
	}
	return c
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
