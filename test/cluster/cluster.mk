# Make targets for the single-node test cluster (test/cluster/README.md). The top-level GNUmakefile
# includes this file; it also works alone: make -f test/cluster/cluster.mk cluster-up
#
#   cluster-deps    install the Debian packages the node needs (when missing)
#   cluster-build   build the Kubernetes binaries and node images into the cache (when missing)
#   cluster-up      start the cluster (idempotent); prints the time to node Ready
#   cluster-down    stop it and remove everything it left on the machine (idempotent)
#   cluster-wipe    cluster-down, then delete the cluster directory (next up starts from scratch)
#   cluster-smoke   the smoke tests against the running cluster (fail, not skip, if it is down)
#   cluster-status  which components run, and the egress counters
#
# Settings are environment variables (AIRGAP_CLUSTER_DIR, AIRGAP_CACHE, AIRGAP_CLUSTER_PRELOAD, ...).

CLUSTER_SCRIPTS := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
CLUSTER_GO ?= go

.PHONY: cluster-deps cluster-build cluster-up cluster-down cluster-wipe cluster-smoke cluster-status

cluster-deps:
	$(CLUSTER_SCRIPTS)/deps.sh

cluster-build:
	$(CLUSTER_SCRIPTS)/build.sh all

cluster-up:
	$(CLUSTER_SCRIPTS)/up.sh

cluster-down:
	$(CLUSTER_SCRIPTS)/down.sh

cluster-wipe:
	AIRGAP_CLUSTER_WIPE=1 $(CLUSTER_SCRIPTS)/down.sh

cluster-smoke:
	cd $(CLUSTER_SCRIPTS) && AIRGAP_REQUIRE_CLUSTER=1 $(CLUSTER_GO) test -count=1 -v -run . .

cluster-status:
	$(CLUSTER_SCRIPTS)/status.sh
