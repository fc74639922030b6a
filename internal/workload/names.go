package workload

// Labels and annotations this package writes.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "terraform-provider-airgap"
	// LabelManifestSet names the set an inventory ConfigMap records.
	LabelManifestSet = "airgap.openairgap.dev/manifest-set"
	// AnnotationInventory, on every applied object, names the inventory that owns it
	// ("namespace/name"): a set prunes or deletes only objects that still name its inventory, so
	// an object moved to another set is left to that set.
	AnnotationInventory = "airgap.openairgap.dev/inventory"
)

// inventoryPrefix starts the name of a set's inventory ConfigMap.
const inventoryPrefix = "airgap-manifests-"
