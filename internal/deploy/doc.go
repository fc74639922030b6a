// Package deploy runs the in-cluster registry (images/registry): its Deployment, NodePort
// Service, credentials, and storage on a PersistentVolumeClaim or in an S3 bucket. Bootstrap
// takes a cluster that cannot pull any image from an injection (package inject) to a registry
// that serves its own image: the first pod pulls from the injector, the registry's image is
// pushed into the registry itself, the Deployment switches to that copy, and the injection is
// retired.
//
// Every object is applied server-side under one field manager and labelled, so Status and
// Remove find them from the namespace and name alone.
package deploy
