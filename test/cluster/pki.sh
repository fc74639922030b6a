#!/usr/bin/env bash
# Generates the cluster's certificates and kubeconfigs under $cluster_dir/pki, once per cluster:
# a CA, the apiserver's and kubelet's serving certificates, one client certificate per component,
# the service-account signing key, and the admin kubeconfig the tests use ($cluster_dir/kubeconfig).
# They are regenerated only when the parameters they encode (node name and address, service
# range, API port) change. ECDSA P-256 keys: generated instantly, accepted by every component.
#
#   pki.sh NODE_NAME NODE_IP
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

node_name=$1
node_ip=$2
pki=$cluster_dir/pki
days=3650

# The first address of the service range is the `kubernetes` Service's ClusterIP, which pods use
# to reach the apiserver: it must be in the serving certificate.
first_service_ip() {
  local net=${service_cidr%/*} a b c d
  IFS=. read -r a b c d <<<"$net"
  echo "$a.$b.$c.$((d + 1))"
}

key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null; chmod 600 "$1.key"; }

# cert NAME SUBJECT [SANS]: a certificate signed by the CA; with SANs it serves, without it is a
# client certificate only.
cert() {
  local name=$1 subj=$2 sans=${3:-}
  key "$name"
  openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ -n "$sans" ]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$sans"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" \
    -sha256 -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

# kubeconfig FILE CERT: a kubeconfig with everything embedded, so it can be copied anywhere.
kubeconfig() {
  local file=$1 name=$2
  cat >"$file" <<EOF2
apiVersion: v1
kind: Config
clusters:
- name: airgap-test
  cluster:
    server: https://127.0.0.1:$apiserver_port
    certificate-authority-data: $(base64 -w0 <ca.crt)
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 <"$name.crt")
    client-key-data: $(base64 -w0 <"$name.key")
contexts:
- name: airgap-test
  context: {cluster: airgap-test, user: $name}
current-context: airgap-test
EOF2
  chmod 600 "$file"
}

main() {
  local params
  params="node_name=$node_name node_ip=$node_ip service_cidr=$service_cidr apiserver_port=$apiserver_port"
  if [ -f "$pki/params" ] && [ "$(cat "$pki/params")" = "$params" ] && [ -f "$cluster_dir/kubeconfig" ]; then
    return 0
  fi
  rm -rf "$pki"; mkdir -p "$pki"; chmod 700 "$pki"; cd "$pki"

  key ca
  openssl req -x509 -new -key ca.key -subj "/CN=airgap-test-cluster-ca" -days "$days" -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out ca.crt 2>/dev/null
  # The service-account token signing key pair (ES256).
  key sa
  openssl ec -in sa.key -pubout -out sa.pub 2>/dev/null

  cert apiserver "/CN=kube-apiserver" \
    "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,DNS:$node_name,IP:127.0.0.1,IP:$(first_service_ip),IP:$node_ip"
  cert kubelet-serving "/CN=$node_name" "DNS:$node_name,DNS:localhost,IP:127.0.0.1,IP:$node_ip"
  # Client identities, each bound by Kubernetes' default RBAC to exactly what it needs (the
  # admin and the apiserver's kubelet client are cluster admins).
  cert admin "/O=system:masters/CN=airgap-admin"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  cert kubelet "/O=system:nodes/CN=system:node:$node_name"
  cert controller-manager "/CN=system:kube-controller-manager"
  cert scheduler "/CN=system:kube-scheduler"
  cert kube-proxy "/CN=system:kube-proxy"

  local c
  for c in admin kubelet controller-manager scheduler kube-proxy; do kubeconfig "$c.kubeconfig" "$c"; done
  cp admin.kubeconfig "$cluster_dir/kubeconfig"
  echo "$params" >params
  log "generated certificates for node $node_name ($node_ip)"
}

main
