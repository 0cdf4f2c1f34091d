package agents

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// HTTPPolicy bounds what http_get may reach. A model's URL is data from a stranger: by
// default only public addresses are reachable (loopback, private, link-local, multicast and
// unspecified addresses are refused after DNS resolution, on every connection, redirects
// included), proxy variables are ignored, and responses are cut at a size and a time limit.
type HTTPPolicy struct {
	// Enabled is false unless the person turned the tool on (--allow-http).
	Enabled bool
	// AllowHosts, when set, are the only hosts http_get may fetch from ("example.com",
	// "*.example.com", "localhost:8080"); hosts named here may be private addresses.
	AllowHosts []string
	// MaxBytes caps the body returned to the model (default 16 KiB); Timeout caps the whole
	// fetch (default 20 s); MaxRedirects caps the redirects followed (default 5).
	MaxBytes     int64
	Timeout      time.Duration
	MaxRedirects int
}

// ErrAddressRefused is returned when a URL resolves to an address the policy refuses.
var ErrAddressRefused = errors.New("address refused")

// HTTPGet fetches a URL within the policy.
func HTTPGet(p HTTPPolicy) Tool {
	if p.MaxBytes <= 0 {
		p.MaxBytes = maxReadBytes
	}
	if p.Timeout <= 0 {
		p.Timeout = 20 * time.Second
	}
	if p.MaxRedirects <= 0 {
		p.MaxRedirects = 5
	}
	return Tool{Name: "http_get", Description: "Fetch a URL with HTTP GET and return the body (text).",
		Parameters: map[string]any{"type": "object", "properties": map[string]any{
			"url": map[string]any{"type": "string"}}, "required": []any{"url"}},
		Call: func(ctx context.Context, args map[string]any) (string, error) {
			if !p.Enabled {
				return "", fmt.Errorf("%w: http_get is off; run with --allow-http to enable it", ErrToolDisabled)
			}
			ctx, cancel := context.WithTimeout(ctx, p.Timeout)
			defer cancel()
			u, err := p.checkURL(str(args, "url"))
			if err != nil {
				return "", err
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
			if err != nil {
				return "", err
			}
			resp, err := p.client().Do(req)
			if err != nil {
				var ue *url.Error
				if errors.As(err, &ue) {
					err = ue.Err
				}
				return "", fmt.Errorf("get %s: %w", u.Redacted(), err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(io.LimitReader(resp.Body, p.MaxBytes+1))
			if err != nil {
				return "", fmt.Errorf("read %s: %w", u.Redacted(), err)
			}
			body := string(b)
			if int64(len(b)) > p.MaxBytes {
				body = string(b[:p.MaxBytes]) + "\n[truncated]"
			}
			return fmt.Sprintf("HTTP %d\n%s", resp.StatusCode, body), nil
		}}
}

// checkURL accepts http and https URLs to hosts the allow list admits.
func (p HTTPPolicy) checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("bad URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: only http and https URLs can be fetched, not %q", ErrAddressRefused, u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("bad URL %q: no host", raw)
	}
	if len(p.AllowHosts) > 0 && !p.allowed(u.Host) {
		return nil, fmt.Errorf("%w: %s is not in the agent's allow_hosts", ErrAddressRefused, u.Hostname())
	}
	return u, nil
}

// allowed matches host (with or without a port) against the allow list.
func (p HTTPPolicy) allowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, a := range p.AllowHosts {
		a = strings.ToLower(a)
		switch {
		case a == hostport || a == host:
			return true
		case strings.HasPrefix(a, "*.") && strings.HasSuffix(host, a[1:]):
			return true
		}
	}
	return false
}

// client builds a client that checks every address it connects to and every redirect.
func (p HTTPPolicy) client() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip := net.ParseIP(host)
		if ip == nil || refusedIP(ip) {
			return fmt.Errorf("%w: %s is a loopback, private, link-local or multicast address", ErrAddressRefused, host)
		}
		return nil
	}}
	transport := &http.Transport{
		Proxy:                  nil, // a proxy from the environment would move the address check elsewhere
		DialContext:            dialer.DialContext,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  p.Timeout,
		MaxResponseHeaderBytes: 64 << 10,
	}
	if len(p.AllowHosts) > 0 {
		// Hosts the person named may be private: check the name, not the address.
		named := &net.Dialer{Timeout: 10 * time.Second}
		transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if p.allowed(addr) {
				return named.DialContext(ctx, network, addr)
			}
			return dialer.DialContext(ctx, network, addr)
		}
	}
	return &http.Client{Transport: transport, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > p.MaxRedirects {
			return fmt.Errorf("stopped after %d redirects", p.MaxRedirects)
		}
		_, err := p.checkURL(req.URL.String())
		return err
	}}
}

// refusedIP is true for addresses an agent must not reach without the person's say-so.
func refusedIP(ip net.IP) bool {
	if ip4 := ip.To4(); ip4 != nil {
		ip = ip4
		// 100.64.0.0/10 (carrier-grade NAT) and 0.0.0.0/8 are not public either.
		if ip4[0] == 0 || (ip4[0] == 100 && ip4[1]&0xc0 == 64) {
			return true
		}
	}
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified()
}
