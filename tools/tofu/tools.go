//go:build tools

// Package tofu only records the OpenTofu CLI as a dependency of this wrapper module.
package tofu

import _ "github.com/opentofu/opentofu/cmd/tofu"
