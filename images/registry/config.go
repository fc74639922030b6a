package main

import (
	"net/http"
	"time"

	"github.com/distribution/distribution/v3/configuration"
)

// configuration turns the settings into Distribution's configuration, built directly rather than
// parsed, so that no file and no REGISTRY_* variable can change it.
func (s settings) configuration() *configuration.Configuration {
	c := &configuration.Configuration{}
	c.Version = configuration.MajorMinorVersion(0, 1)
	c.Log.Level = "info"
	c.HTTP.Addr = s.addr
	c.HTTP.Secret = s.httpSecret
	c.HTTP.Headers = http.Header{"X-Content-Type-Options": {"nosniff"}}
	c.Catalog.MaxEntries = 1000
	c.Tags.MaxTags = 1000
	c.Health.StorageDriver = configuration.StorageDriver{Enabled: true, Interval: 10 * time.Second, Threshold: 3}
	c.Storage = configuration.Storage{
		s.storage: s.driverParameters(),
		"delete":  {"enabled": true},
		"cache":   {"blobdescriptor": "inmemory"},
		// Blobs are always served through the registry: a client in the enclave may not be able
		// to reach the object store, and should not need credentials for it.
		"redirect": {"disable": true},
		"maintenance": {"uploadpurging": map[any]any{
			"enabled": s.uploadPurging, "age": "168h", "interval": "24h", "dryrun": false,
		}},
	}
	if s.htpasswd != "" {
		c.Auth = configuration.Auth{"htpasswd": {"realm": s.realm, "path": s.htpasswd}}
	}
	return c
}

// driverParameters are the storage driver's parameters, by Distribution's names.
func (s settings) driverParameters() configuration.Parameters {
	if s.storage == "filesystem" {
		return configuration.Parameters{"rootdirectory": s.root}
	}
	p := configuration.Parameters{
		"region":         s.s3.region,
		"bucket":         s.s3.bucket,
		"forcepathstyle": s.s3.forcePathStyle,
		"secure":         s.s3.secure,
	}
	if s.s3.endpoint != "" {
		p["regionendpoint"] = s.s3.endpoint
	}
	if s.s3.rootDirectory != "" {
		p["rootdirectory"] = s.s3.rootDirectory
	}
	if s.s3.accessKey != "" {
		p["accesskey"], p["secretkey"] = s.s3.accessKey, s.s3.secretKey
	}
	return p
}
