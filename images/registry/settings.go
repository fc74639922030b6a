package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// envPrefix starts every variable the registry reads. Not REGISTRY_: Kubernetes gives every pod
// REGISTRY_PORT=tcp://... for a Service named "registry", which upstream's configuration parser
// would take for settings (distribution/distribution#3653).
const envPrefix = "AIRGAP_REGISTRY_"

// settings is everything the registry can be told.
type settings struct {
	addr          string
	storage       string // "filesystem" or "s3"
	root          string // filesystem storage
	s3            s3Settings
	htpasswd      string // bcrypt htpasswd file; empty: no authentication
	realm         string
	tlsCert       string
	tlsKey        string
	httpSecret    string // signs upload state; replicas behind one Service must share it
	uploadPurging bool
	printVersion  bool
	prepareRoot   string // UID:GID: chown the filesystem root and exit
}

type s3Settings struct {
	region, endpoint, bucket, rootDirectory string
	forcePathStyle, secure                  bool
	accessKey, secretKey                    string // from the environment or files, never flags
}

// parseSettings reads the flags; each flag's default is its AIRGAP_REGISTRY_* variable. Secrets
// come only from variables or files so that they never show in the process list.
func parseSettings(args []string, getenv func(string) string) (settings, error) {
	var s settings
	fs := flag.NewFlagSet("registry", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var errs []error
	str := func(p *string, name, env, def, usage string) {
		v := getenv(envPrefix + env)
		if v == "" {
			v = def
		}
		fs.StringVar(p, name, v, usage+" ($"+envPrefix+env+")")
	}
	boolean := func(p *bool, name, env string, def bool, usage string) {
		if v := getenv(envPrefix + env); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("$%s%s=%q: want true or false", envPrefix, env, v))
			}
			def = b
		}
		fs.BoolVar(p, name, def, usage+" ($"+envPrefix+env+")")
	}
	str(&s.addr, "addr", "ADDR", ":5000", "listen address")
	str(&s.storage, "storage", "STORAGE", "filesystem", "storage driver: filesystem or s3")
	str(&s.root, "root", "ROOT", "/var/lib/registry", "filesystem storage: root directory")
	str(&s.s3.region, "s3-region", "S3_REGION", "", "s3: region (default us-east-1 with -s3-endpoint)")
	str(&s.s3.endpoint, "s3-endpoint", "S3_ENDPOINT", "", "s3: endpoint URL, for S3-compatible stores")
	str(&s.s3.bucket, "s3-bucket", "S3_BUCKET", "", "s3: bucket (must exist)")
	str(&s.s3.rootDirectory, "s3-root-directory", "S3_ROOT_DIRECTORY", "", "s3: key prefix for everything stored")
	boolean(&s.s3.forcePathStyle, "s3-force-path-style", "S3_FORCE_PATH_STYLE", false, "s3: path-style URLs (MinIO and most S3-compatible stores)")
	boolean(&s.s3.secure, "s3-secure", "S3_SECURE", true, "s3: use HTTPS")
	str(&s.htpasswd, "htpasswd", "HTPASSWD", "", "htpasswd file (bcrypt entries); empty: no authentication")
	str(&s.realm, "realm", "REALM", "airgap-registry", "basic authentication realm")
	str(&s.tlsCert, "tls-cert", "TLS_CERT", "", "TLS certificate (PEM); with -tls-key, serve HTTPS")
	str(&s.tlsKey, "tls-key", "TLS_KEY", "", "TLS private key (PEM)")
	boolean(&s.uploadPurging, "upload-purging", "UPLOAD_PURGING", false, "purge abandoned uploads older than a week")
	fs.BoolVar(&s.printVersion, "version", false, "print the version and exit")
	fs.StringVar(&s.prepareRoot, "prepare-root", "", "UID:GID: give the filesystem root to this owner and exit (an init container, as root)")
	if err := errors.Join(errs...); err != nil {
		return s, err
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stderr)
			fmt.Fprintf(os.Stderr, "usage: registry [flags]; every flag also reads the variable named in its description\n")
			fs.PrintDefaults()
		}
		return s, err
	}
	if fs.NArg() > 0 {
		return s, fmt.Errorf("unexpected arguments %q: the registry takes flags and %s* variables only", fs.Args(), envPrefix)
	}
	var err error
	if s.s3.accessKey, err = secret(getenv, "S3_ACCESS_KEY"); err != nil {
		return s, err
	}
	if s.s3.secretKey, err = secret(getenv, "S3_SECRET_KEY"); err != nil {
		return s, err
	}
	if s.httpSecret, err = secret(getenv, "HTTP_SECRET"); err != nil {
		return s, err
	}
	return s, s.validate()
}

// secret reads AIRGAP_REGISTRY_<name>_FILE (a mounted Secret) or else AIRGAP_REGISTRY_<name>.
func secret(getenv func(string) string, name string) (string, error) {
	path := getenv(envPrefix + name + "_FILE")
	if path == "" {
		return getenv(envPrefix + name), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("$%s%s_FILE: %w", envPrefix, name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func (s *settings) validate() error {
	switch s.storage {
	case "filesystem":
		if s.root == "" {
			return errors.New("filesystem storage needs a root directory (-root)")
		}
	case "s3":
		if s.s3.bucket == "" {
			return errors.New("s3 storage needs a bucket (-s3-bucket)")
		}
		if s.s3.region == "" && s.s3.endpoint != "" {
			s.s3.region = "us-east-1" // S3-compatible stores ignore it, but requests are signed with one
		}
		if (s.s3.accessKey == "") != (s.s3.secretKey == "") {
			return fmt.Errorf("give both %[1]sS3_ACCESS_KEY and %[1]sS3_SECRET_KEY (or their _FILE forms), or neither to use the AWS SDK's own credential chain", envPrefix)
		}
	default:
		return fmt.Errorf("storage %q: want filesystem or s3", s.storage)
	}
	if (s.tlsCert == "") != (s.tlsKey == "") {
		return errors.New("TLS needs both a certificate (-tls-cert) and a key (-tls-key)")
	}
	if s.htpasswd != "" {
		// Distribution would create a missing file with a random user: refuse instead.
		if _, err := os.Stat(s.htpasswd); err != nil {
			return fmt.Errorf("htpasswd file: %w", err)
		}
	}
	return nil
}
