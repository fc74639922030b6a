package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/crypto/bcrypt"
)

func TestFilesystemPushPullDelete(t *testing.T) {
	root := t.TempDir()
	r := startRegistry(t, map[string]string{
		"AIRGAP_REGISTRY_ROOT": root,
		// What a Service named "registry" puts in every pod, and upstream's own variables:
		// neither may change anything.
		"REGISTRY_PORT": "tcp://10.96.0.10:5000", "REGISTRY_STORAGE": "inmemory", "REGISTRY_AUTH": "silly",
	}, "http", http.DefaultClient)
	digest := pushPull(t, r.addr+"/team/app:1.0")

	// Delete is enabled: the index goes by digest, and then cannot be pulled.
	ref, err := name.ParseReference(r.addr + "/team/app@" + digest.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Delete(ref); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := remote.Index(ref); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("pull after delete: %v, want 404", err)
	}
	if matches, _ := filepath.Glob(filepath.Join(root, "docker/registry/v2/repositories/team/app")); len(matches) != 1 {
		t.Errorf("nothing stored under the root directory %s", root)
	}
	if strings.Contains(r.out.String(), "http.secret in the configuration file") {
		t.Errorf("the log points to upstream's configuration file:\n%s", r.out.tail(30))
	}
}

func TestHtpasswdRefusesAnonymousPush(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := writeFile(t, "htpasswd", "pusher:"+string(hash)+"\n")
	r := startRegistry(t, map[string]string{"AIRGAP_REGISTRY_ROOT": t.TempDir(), "AIRGAP_REGISTRY_HTPASSWD": htpasswd}, "http", http.DefaultClient)

	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(r.addr + "/team/app:anon")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); !isStatus(err, http.StatusUnauthorized) {
		t.Fatalf("anonymous push: %v, want 401", err)
	}
	wrong := authn.FromConfig(authn.AuthConfig{Username: "pusher", Password: "guess"})
	if err := remote.Write(ref, img, remote.WithAuth(wrong)); !isStatus(err, http.StatusUnauthorized) {
		t.Fatalf("push with a wrong password: %v, want 401", err)
	}
	right := authn.FromConfig(authn.AuthConfig{Username: "pusher", Password: "s3cret"})
	pushPull(t, r.addr+"/team/app:1.0", remote.WithAuth(right))
	if _, err := remote.Index(mustRef(t, r.addr+"/team/app:1.0")); !isStatus(err, http.StatusUnauthorized) {
		t.Fatalf("anonymous pull: %v, want 401", err)
	}
}

func TestTLS(t *testing.T) {
	cert, key, pool := selfSigned(t)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	r := startRegistry(t, map[string]string{
		"AIRGAP_REGISTRY_ROOT": t.TempDir(), "AIRGAP_REGISTRY_TLS_CERT": cert, "AIRGAP_REGISTRY_TLS_KEY": key,
	}, "https", client)
	pushPull(t, r.addr+"/team/app:1.0", remote.WithTransport(client.Transport))
	if resp, err := http.Get("http://" + r.addr + "/v2/"); err == nil && resp.StatusCode == http.StatusOK {
		t.Error("plain HTTP is served next to TLS")
	}
}

func isStatus(err error, code int) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == code
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns a pool that trusts it.
func selfSigned(t *testing.T) (certPath, keyPath string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "registry test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return writeFile(t, "tls.crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))),
		writeFile(t, "tls.key", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))), pool
}
