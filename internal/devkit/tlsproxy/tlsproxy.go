// Package tlsproxy serves the tests and benchmarks: it puts TLS in front of
// the local DynamoDB, as the real one is reached over HTTPS, with a
// certificate authority made for each run. A function trusts that CA the
// way production trusts Amazon's, through the system pool: SSL_CERT_FILE
// names a bundle of the system's certificates plus the test CA, so the
// pool's load and the handshake cost what they cost in Lambda, and nothing
// in the function changes.
package tlsproxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// SystemBundles are where Debian, Amazon Linux and others keep the system's
// trusted certificates, in the order Go looks for them.
var SystemBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
}

// Proxy terminates TLS on a loopback port and forwards the bytes to a
// plain-HTTP backend.
type Proxy struct {
	// URL is the https:// endpoint to give the function.
	URL string
	// CertFile is the bundle to name in SSL_CERT_FILE: the system's
	// certificates followed by the test CA.
	CertFile string
	// CAFile holds the test CA alone.
	CAFile string

	ln      net.Listener
	backend string
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closed  bool
}

// Start makes a CA and a certificate for 127.0.0.1 signed by it, writes the
// bundles into dir, and listens on a free loopback port, forwarding each
// connection to backend (host:port). It fails when no system bundle exists.
func Start(dir, backend string) (*Proxy, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cdm test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}

	var system []byte
	for _, b := range SystemBundles {
		if system, err = os.ReadFile(b); err == nil { // #nosec G304 -- the system's certificate bundle
			break
		}
	}
	if system == nil {
		return nil, errors.New("no system certificate bundle found to extend with the test CA")
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	p := &Proxy{CertFile: filepath.Join(dir, "bundle-with-test-ca.pem"), CAFile: filepath.Join(dir, "test-ca.pem"), backend: backend, conns: map[net.Conn]struct{}{}}
	if err := os.WriteFile(p.CertFile, append(append(system, '\n'), caPEM...), 0o600); err != nil { // #nosec G703 -- dir is the caller's temporary directory
		return nil, err
	}
	if err := os.WriteFile(p.CAFile, caPEM, 0o600); err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey}},
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		return nil, err
	}
	p.ln = ln
	p.URL = "https://" + ln.Addr().String()
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c, true) {
			_ = c.Close()
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.track(c, false)
			p.forward(c)
		}()
	}
}

func (p *Proxy) track(c net.Conn, add bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		if p.closed {
			return false
		}
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
	return true
}

func (p *Proxy) forward(c net.Conn) {
	defer c.Close()
	b, err := net.Dial("tcp", p.backend)
	if err != nil {
		return
	}
	defer b.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
	<-done
}

// Close stops listening, ends open connections and waits for them.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("tlsproxy: %w", err)
	}
	return nil
}
