// Package chart loads, packages and renders Helm charts through the Helm v3 SDK.
package chart
