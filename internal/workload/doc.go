// Package workload puts a verified bundle's workloads into a cluster: plain manifests by
// server-side apply, as sets with an inventory, and charts as Helm releases, their images
// rewritten to the in-cluster registry, pinned by digest.
//
// # Images
//
// The caller supplies an ImageMapper (registry.Target.Reference over the bundle's BOM): every
// container, init container and ephemeral container of every pod-template-bearing kind (Pod,
// PodTemplate, ReplicationController, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
// CronJob) is mapped, and an image the bundle does not carry is an error naming the object, its
// file and the container. RewriteImages returns each change (object, container, before, after)
// for the plan. PostRenderer does the same to a Helm release's manifest.
//
// # Manifests
//
// Render parses the files (multi-document YAML; empty documents skipped; Lists expanded;
// errors name the file and the document) and rewrites the images, offline, with a digest
// (ManifestDigest) that depends on the objects alone. Client.Apply applies a Set with
// server-side apply under the caller's field manager, forcing conflicts: what runs is what the
// plan showed, and someone's kubectl edit of a field the manifests set is undone. Namespaces go
// first, then CustomResourceDefinitions (established before their resources), then the rest;
// namespaced objects without a namespace get the set's default.
//
// A set's inventory, a ConfigMap in a namespace of the caller's choice, lists every object the
// set owns (group, version, kind, namespace, name, and each container's image); every applied
// object carries AnnotationInventory naming it. An apply records the union of the old and new
// sets before changing anything, prunes what the old set had and the new one lacks (only objects
// that still name this inventory: an object moved to another set is left alone), then records
// the new set. Client.Read compares the live objects with the inventory (missing objects,
// images changed by hand) without the bundle; Client.Delete removes the set in reverse order.
//
// # Helm releases
//
// Client.ApplyChart installs or upgrades a release of a chart carried as .tgz bytes, through the
// Helm v3 SDK with its Secret storage in the release's namespace and a REST client getter built
// from the client's configuration (no kubeconfig). The images are rewritten by PostRenderer;
// hooks, which Helm 3 does not post-render, are refused if they would pull from outside. Going
// back to an older chart or values is an upgrade, not a Helm rollback. It is atomic: a failed
// first install is uninstalled, a failed upgrade rolled back to the last good revision, and the
// error says why (the readiness wait below) and what was undone. No release is left pending: one
// that an interrupted apply left pending-install, -upgrade or -rollback is recovered first (marked
// failed and rolled back to its last good revision, or uninstalled without one) and reported. A
// call whose context ends writes no further release record, as a killed process would not.
// Client.ReleaseStatus reads the revision, chart, status, manifest digest and images;
// Client.Uninstall removes a release.
//
// # Readiness
//
// Client.WaitReady waits until Deployments, StatefulSets and DaemonSets have rolled out their
// current generation, Pods are Ready, Jobs complete and CustomResourceDefinitions established,
// and fails early, with a NotReadyError naming the object, the pod, the container and its last
// words, when a pod cannot pull its image or keeps crashing.
package workload
