package bundle

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// The SBOM is CycloneDX 1.5 JSON. It lists every image with each platform's manifest and layers,
// every chart, manifest file and file, each with its SHA-256, so a scanner in the enclave can work
// from the bundle alone.

type cdxDoc struct {
	BOMFormat    string         `json:"bomFormat"`
	SpecVersion  string         `json:"specVersion"`
	SerialNumber string         `json:"serialNumber"`
	Version      int            `json:"version"`
	Metadata     cdxMetadata    `json:"metadata"`
	Components   []cdxComponent `json:"components"`
}

type cdxMetadata struct {
	Timestamp string       `json:"timestamp"`
	Tools     cdxTools     `json:"tools"`
	Component cdxComponent `json:"component"`
}

type cdxTools struct {
	Components []cdxComponent `json:"components"`
}

type cdxComponent struct {
	Type       string         `json:"type"`
	BOMRef     string         `json:"bom-ref,omitempty"`
	Name       string         `json:"name"`
	Version    string         `json:"version,omitempty"`
	Purl       string         `json:"purl,omitempty"`
	Hashes     []cdxHash      `json:"hashes,omitempty"`
	Properties []cdxProperty  `json:"properties,omitempty"`
	Components []cdxComponent `json:"components,omitempty"`
}

type cdxHash struct {
	Alg     string `json:"alg"`
	Content string `json:"content"`
}

type cdxProperty struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func sha(hexOrDigest string) []cdxHash {
	return []cdxHash{{Alg: "SHA-256", Content: strings.TrimPrefix(hexOrDigest, "sha256:")}}
}

// buildSBOM describes the bundle's contents; entries gives the hash of every chart, manifest and
// file by path. The serial number is derived from the content so that equal inputs give equal
// bytes.
func buildSBOM(b *BOM, hashes map[string]string) ([]byte, error) {
	doc := cdxDoc{
		BOMFormat: "CycloneDX", SpecVersion: "1.5", Version: 1,
		Metadata: cdxMetadata{
			Timestamp: b.Created.UTC().Format(time.RFC3339),
			Tools:     cdxTools{Components: []cdxComponent{{Type: "application", Name: "terraform-provider-airgap"}}},
			Component: cdxComponent{Type: "application", Name: b.Name, Version: b.Version},
		},
		Components: []cdxComponent{},
	}
	for _, img := range b.Images {
		doc.Components = append(doc.Components, imageComponent(img))
	}
	for _, c := range b.Charts {
		doc.Components = append(doc.Components, cdxComponent{
			Type: "application", BOMRef: "chart:" + c.Path, Name: c.Name, Version: c.Version,
			Purl: fmt.Sprintf("pkg:helm/%s@%s", url.PathEscape(c.Name), url.PathEscape(c.Version)), Hashes: sha(hashes[c.Path]),
			Properties: imageProperties(c.Images),
		})
	}
	for _, m := range b.Manifests {
		doc.Components = append(doc.Components, cdxComponent{
			Type: "file", BOMRef: "manifest:" + m.Path, Name: m.Source, Hashes: sha(hashes[m.Path]),
			Properties: imageProperties(m.Images),
		})
	}
	for _, f := range b.Files {
		doc.Components = append(doc.Components, cdxComponent{Type: "file", BOMRef: "file:" + f.Path, Name: f.Name, Hashes: sha(hashes[f.Path])})
	}
	body, err := json.Marshal(doc.Components)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append([]byte(b.Name+"\x00"+b.Version+"\x00"), body...))
	// A name-based UUID (version 5 layout) of the content.
	sum[6] = sum[6]&0x0f | 0x50
	sum[8] = sum[8]&0x3f | 0x80
	doc.SerialNumber = fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	out, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

func imageComponent(img Image) cdxComponent {
	repo := img.Name[strings.LastIndex(img.Name, "/")+1:]
	c := cdxComponent{
		Type: "container", BOMRef: "image:" + ReferenceString(img), Name: img.Name, Version: img.Tag,
		Purl:   fmt.Sprintf("pkg:oci/%s@%s?repository_url=%s", url.PathEscape(repo), url.QueryEscape(img.Digest), url.QueryEscape(img.Name)),
		Hashes: sha(img.Digest),
		Properties: []cdxProperty{
			{Name: "openairgap:reference", Value: img.Ref},
			{Name: "openairgap:source-digest", Value: img.SourceDigest},
			{Name: "openairgap:media-type", Value: img.MediaType},
		},
	}
	for _, p := range img.Platforms {
		pc := cdxComponent{
			Type: "container", BOMRef: "image:" + ReferenceString(img) + ":" + p.Platform, Name: img.Name, Version: img.Tag,
			Hashes:     sha(p.Digest),
			Properties: []cdxProperty{{Name: "openairgap:platform", Value: p.Platform}, {Name: "openairgap:config", Value: p.Config}},
		}
		for i, l := range p.Layers {
			pc.Components = append(pc.Components, cdxComponent{Type: "file", Name: fmt.Sprintf("layer %d", i+1), Hashes: sha(l)})
		}
		c.Components = append(c.Components, pc)
	}
	return c
}

func imageProperties(images []string) []cdxProperty {
	var out []cdxProperty
	for _, i := range images {
		out = append(out, cdxProperty{Name: "openairgap:image", Value: i})
	}
	return out
}
