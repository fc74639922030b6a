// Package receipt keeps a signed, hash-chained record of every apply that changed workloads, as
// immutable ConfigMaps in the cluster (and optionally a file), and reads the history back verified.
//
// # The document
//
// A Receipt is encoded as canonical JSON (Receipt.Marshal): fields in a fixed order, the time in
// UTC to the second (RFC 3339), every list sorted without duplicates, no insignificant space. Parse
// accepts only that encoding, byte for byte, so what a reader sees is exactly what was signed:
// Go's decoder would otherwise take keys in any case and let a duplicate key win. The schema is
// SchemaV1; a reader refuses any other. A receipt records the bundles used (name, version, BOM
// digest, accepted signer fingerprints, and the file's SHA-256 when the caller hashed it: the BOM
// digest alone pins every byte, since the signed BOM lists the SHA-256 of every entry), the images
// (source reference and the deployed reference pinned by digest), the releases or manifest sets
// (kind, name, namespace, revision, chart version, digest of the rendered manifests), the action,
// the time, the operator and the Terraform resource address when given.
//
// # The chain
//
// Receipts of a stream count from 1; each one's Previous is the SHA-256 (Digest) of the previous
// document's bytes. Deleting, reordering or editing a receipt therefore breaks a link that List
// reports on the receipt after it, naming both. The chain alone cannot show that the newest
// receipts were deleted or that the newest was edited; a caller that kept the newest digest (in
// Terraform state, say) passes it as ListOptions.KnownHead to catch that.
//
// # Signatures
//
// With an operator key (AppendOptions.Signer), every receipt is signed with signing.Sign, exactly
// as `cosign sign-blob --key` signs the document's bytes. The document names the key's fingerprint
// in SignedBy, inside the signed bytes, so a signature cannot be stripped to pass a signed receipt
// off as unsigned. Without a key, receipts are unsigned: SignedBy is empty, no signature is stored
// and the ConfigMap is labelled
// airgap.openairgap.dev/receipt-signed=false. List judges signatures with a signing.Policy,
// the same machinery as bundles; key validity windows are judged at the receipt's own time, so
// retiring a key does not invalidate the history it signed. The chain without signatures guards
// against accidents; against someone able to rewrite the namespace, only signatures do.
//
// # Storage
//
// One immutable ConfigMap per receipt, named receipt-<stream>-<sequence, 10 digits> in the
// caller's namespace (created if missing, never deleted), labelled
// app.kubernetes.io/managed-by=terraform-provider-airgap and
// airgap.openairgap.dev/receipt-stream=<stream>. Its data holds receipt.json (the exact signed
// bytes), receipt.json.sig (the signature as cosign prints it) and receipt.json.sha256 (the
// document's digest). A ConfigMap rather than a Secret: a receipt holds no secret, auditors should
// be able to read it without the right to read Secrets, and integrity comes from the chain and the
// signature, not from access control. Labels are mutable and only select; nothing is trusted from
// them.
//
// Appends are safe when applies run at once: the name is the lock. An apply creates the name of
// the next sequence number; when another apply took it (AlreadyExists), it reads that receipt,
// links to it, signs again and tries the number after.
//
// # Checking by hand
//
//	kubectl -n NS get configmap receipt-STREAM-0000000003 -o jsonpath='{.data.receipt\.json}' > receipt.json
//	kubectl -n NS get configmap receipt-STREAM-0000000003 -o jsonpath='{.data.receipt\.json\.sig}' > receipt.json.sig
//	cosign verify-blob --key operator.pub --signature receipt.json.sig \
//	    --insecure-ignore-tlog=true --offline=true receipt.json
//
// WriteFile writes the same two files (document and signature) beside each other, so the last
// command works on them too.
package receipt
