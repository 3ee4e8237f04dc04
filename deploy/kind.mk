# kind, images and deploy targets (included by the Makefile). The full sequence is in docs/kind.md:
#   make kind-up images deploy demo-workloads urls
# Every target checks for the tool it drives and says how to get it; nothing here runs in `make test`.

KIND_CLUSTER ?= k8s-optimizer
KIND_CONFIG ?= kind-config.yaml
KUBE_CONTEXT ?= kind-$(KIND_CLUSTER)
OPTIMIZER_NAMESPACE ?= k8s-optimizer
APPLY_NAMESPACES ?= default k8s-optimizer
IMAGE_TAG ?= 0.1.0
BACKEND_IMAGE ?= k8s-optimizer-backend:$(IMAGE_TAG)
DASHBOARD_IMAGE ?= k8s-optimizer-dashboard:$(IMAGE_TAG)
ROLLOUT_TIMEOUT ?= 180s
KUBECTL ?= kubectl
KIND ?= kind
DOCKER ?= docker

# Every kubectl call names the kind context, so a target never touches whatever cluster is current.
K := $(KUBECTL) --context $(KUBE_CONTEXT)

# $(call require,TOOL,HOW TO GET IT): fail early with a clear message when TOOL is missing.
require = @command -v $(1) >/dev/null 2>&1 || { echo "error: '$(1)' is not installed: $(2)" >&2; exit 127; }
NEED_KIND = $(call require,$(KIND),install kind v0.28.0 or newer - https://kind.sigs.k8s.io/docs/user/quick-start/#installation)
NEED_DOCKER = $(call require,$(DOCKER),install Docker Engine or Docker Desktop and start it - kind runs its nodes as containers)
NEED_KUBECTL = $(call require,$(KUBECTL),install kubectl v1.31 or newer - https://kubernetes.io/docs/tasks/tools/)

.PHONY: kind-up
kind-up: ## create the 3-node kind cluster (kind-config.yaml) and install metrics-server
	$(NEED_KIND)
	$(NEED_DOCKER)
	$(NEED_KUBECTL)
	@if $(KIND) get clusters 2>/dev/null | grep -qx '$(KIND_CLUSTER)'; then \
	  echo "kind cluster '$(KIND_CLUSTER)' already exists"; \
	else \
	  $(KIND) create cluster --name $(KIND_CLUSTER) --config $(KIND_CONFIG) --wait 120s; \
	fi
	$(K) apply -k deploy/metrics-server
	$(K) -n kube-system rollout status deployment/metrics-server --timeout=$(ROLLOUT_TIMEOUT)

.PHONY: kind-down
kind-down: ## delete the kind cluster
	$(NEED_KIND)
	$(KIND) delete cluster --name $(KIND_CLUSTER)

.PHONY: images
images: ## build the backend and dashboard images and load them into the kind nodes
	$(NEED_DOCKER)
	$(NEED_KIND)
	$(DOCKER) build -f backend/Dockerfile -t $(BACKEND_IMAGE) .
	$(DOCKER) build -f dashboard/Dockerfile -t $(DASHBOARD_IMAGE) dashboard
	$(KIND) load docker-image $(BACKEND_IMAGE) $(DASHBOARD_IMAGE) --name $(KIND_CLUSTER)

.PHONY: deploy
deploy: ## apply deploy/base (read-only optimizer) and wait for the backend and dashboard
	$(NEED_KUBECTL)
	@if ! $(K) -n $(OPTIMIZER_NAMESPACE) get secret optimizer-read-token >/dev/null 2>&1; then \
	  $(K) create namespace $(OPTIMIZER_NAMESPACE) --dry-run=client -o yaml | $(K) apply -f - >/dev/null; \
	  token=$$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))'); \
	  if $(K) -n $(OPTIMIZER_NAMESPACE) create secret generic optimizer-read-token --from-literal=token="$$token" >/dev/null; then \
	    echo "created Secret optimizer-read-token (reads of the backend's port need it; the dashboard sends it)"; \
	  else \
	    echo "warning: no Secret optimizer-read-token: the backend pods wait for it (fail closed); create it to read"; \
	  fi; \
	fi
	$(K) apply -k deploy/base
	$(K) -n $(OPTIMIZER_NAMESPACE) rollout status statefulset/optimizer-backend --timeout=$(ROLLOUT_TIMEOUT)
	$(K) -n $(OPTIMIZER_NAMESPACE) rollout status deployment/optimizer-dashboard --timeout=$(ROLLOUT_TIMEOUT)

.PHONY: deploy-apply
deploy-apply: ## opt-in: grant patch rights and enable apply (creates a random token Secret once)
	$(NEED_KUBECTL)
	$(K) create namespace $(OPTIMIZER_NAMESPACE) --dry-run=client -o yaml | $(K) apply -f -
	@if ! $(K) -n $(OPTIMIZER_NAMESPACE) get secret optimizer-apply-token >/dev/null 2>&1; then \
	  token=$$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))'); \
	  $(K) -n $(OPTIMIZER_NAMESPACE) create secret generic optimizer-apply-token --from-literal=token="$$token" >/dev/null || exit 1; \
	  echo "created Secret optimizer-apply-token; read it with:"; \
	  echo "  kubectl --context $(KUBE_CONTEXT) -n $(OPTIMIZER_NAMESPACE) get secret optimizer-apply-token -o jsonpath='{.data.token}' | base64 -d"; \
	fi
	$(K) apply -k deploy/overlays/apply
	$(K) -n $(OPTIMIZER_NAMESPACE) rollout restart statefulset/optimizer-backend
	$(K) -n $(OPTIMIZER_NAMESPACE) rollout status statefulset/optimizer-backend --timeout=$(ROLLOUT_TIMEOUT)

.PHONY: demo-workloads
demo-workloads: ## apply deploy/demo: echo-demo + HPA, high-cpu-app, memory-intensive-app, load-gen
	$(NEED_KUBECTL)
	$(K) create namespace $(OPTIMIZER_NAMESPACE) --dry-run=client -o yaml | $(K) apply -f -
	$(K) apply -k deploy/demo
	$(K) -n $(OPTIMIZER_NAMESPACE) rollout status deployment/echo-demo --timeout=$(ROLLOUT_TIMEOUT)

.PHONY: load
load: ## start the load generator (load-gen pod -> echo-demo, about 10 req/s)
	$(NEED_KUBECTL)
	$(K) -n $(OPTIMIZER_NAMESPACE) apply -f deploy/demo/load-gen.yaml
	$(K) -n $(OPTIMIZER_NAMESPACE) wait --for=condition=Ready pod/load-gen --timeout=$(ROLLOUT_TIMEOUT)

.PHONY: load-stop
load-stop: ## stop the load generator (the HPA scales echo-demo back down after 5 min)
	$(NEED_KUBECTL)
	$(K) -n $(OPTIMIZER_NAMESPACE) delete pod load-gen --ignore-not-found

.PHONY: urls
urls: ## print the dashboard and API URLs and check that they answer
	@echo "dashboard  http://localhost:3000    (NodePort 30080)"
	@echo "API        http://localhost:8080    (NodePort 30081)   e.g. curl http://localhost:8080/health"
	@command -v curl >/dev/null 2>&1 && { \
	  curl -fsS -o /dev/null -w "  localhost:3000/healthz -> %{http_code}\n" http://localhost:3000/healthz || echo "  dashboard not answering yet"; \
	  curl -fsS -o /dev/null -w "  localhost:8080/health  -> %{http_code}\n" http://localhost:8080/health || echo "  backend not answering yet"; \
	} || true

.PHONY: kind-status
kind-status: ## the design's verification commands: nodes, pods, services, endpoints, HPA, top
	$(NEED_KUBECTL)
	$(K) get nodes -o wide
	$(K) -n $(OPTIMIZER_NAMESPACE) get pods -o wide
	$(K) -n $(OPTIMIZER_NAMESPACE) get svc -o wide
	-$(K) -n $(OPTIMIZER_NAMESPACE) get endpoints echo-demo -o wide
	-$(K) -n $(OPTIMIZER_NAMESPACE) get hpa -o wide
	-$(K) -n $(OPTIMIZER_NAMESPACE) top pods
	-$(K) top nodes

.PHONY: apply-namespaces
apply-namespaces: ## regenerate the apply overlay's scope: RoleBindings + OPTIMIZER_APPLY_NAMESPACES (APPLY_NAMESPACES="a b")
	python3 deploy/overlays/apply/namespaces.py $(APPLY_NAMESPACES)
