#!/usr/bin/env bash
# check-chart.sh validates the Helm chart in deploy/helm/crawlspace without a
# cluster: `helm lint --strict` and `helm template` with the default values,
# with every option on (bundled NATS and PostgreSQL, ServiceMonitor, KEDA) and
# with an existing Secret; assertions on the rendered objects (each stage's
# Deployment and args, the migrate hook Job, probes, security context,
# ScaledObject triggers); renders that must fail; and the Grafana dashboards'
# JSON. It exits non-zero on any failure.
#
# The rendered YAML is turned into JSON by Helm itself (fromYaml in a
# throwaway chart), since this machine has no YAML parser outside Helm, and
# the assertions are jq expressions over that JSON. Helm (pinned below) is
# installed with go install when missing. CHART_DIR checks another copy of
# the chart.
#
# The single-quoted strings are jq programs; $stage and friends are jq's.
# shellcheck disable=SC2016
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HELM_PKG=helm.sh/helm/v4/cmd/helm
HELM_VERSION=v4.3.2
CHART=${CHART_DIR:-$REPO_ROOT/deploy/helm/crawlspace}
STAGES=(crawler notices matcher compliance)

command -v jq >/dev/null || die "jq is missing (apt-get install jq)"
ensure_go_tool helm "$HELM_PKG" "$HELM_VERSION"
HELM="$(gobin)/helm"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/crawlspace-chart.XXXXXX")
on_exit rm -rf "$WORK"
# Keep helm's cache, config and data out of the home directory.
export HELM_CACHE_HOME=$WORK/helm/cache HELM_CONFIG_HOME=$WORK/helm/config \
	HELM_DATA_HOME=$WORK/helm/data

FAILURES=0

fail() {
	log "FAIL: $*"
	FAILURES=$((FAILURES + 1))
}

# Every option on: bundled servers, ServiceMonitor, KEDA, a pinned digest.
ALL_ON=(--set nats.bundled=true --set postgresql.bundled=true
	--set metrics.serviceMonitor.enabled=true --set keda.enabled=true
	--set image.digest=sha256:0000000000000000000000000000000000000000000000000000000000000000
	--set 'insecureRegistries={registry.local:5000,127.0.0.1:5000}')
EXISTING=(--set postgresql.existingSecret=crawlspace-db --set postgresql.existingSecretKey=dsn
	--set keda.enabled=true --set keda.natsMonitoringEndpoint=nats.nats.svc:8222)

# to_json NAME converts $WORK/NAME.yaml, a stream of YAML documents, into a
# JSON array in $WORK/NAME.json, one element per non-empty document. A
# document that does not parse fails the conversion.
to_json() {
	local name=$1 conv=$WORK/yaml2json
	if [[ ! -d $conv ]]; then
		mkdir -p "$conv/templates"
		printf 'apiVersion: v2\nname: yaml2json\nversion: 0.0.0\n' >"$conv/Chart.yaml"
		cat >"$conv/templates/out.yaml" <<-'TPL'
			{{- range $doc := regexSplit "(?m)^---[ \t]*$" (.Files.Get "in.yaml") -1 }}
			{{- $obj := fromYaml $doc }}
			{{- if hasKey $obj "Error" }}
			{{- fail (printf "YAML does not parse: %s\n%s" $obj.Error $doc) }}
			{{- end }}
			{{- if $obj }}
			{{ toJson $obj }}
			{{- end }}
			{{- end }}
		TPL
	fi
	cp "$WORK/$name.yaml" "$conv/in.yaml"
	"$HELM" template yaml2json "$conv" | grep -v -e '^---' -e '^#' | jq -s . >"$WORK/$name.json"
}

# render NAME HELM_ARGS... lints and renders the chart with HELM_ARGS into
# $WORK/NAME.yaml and $WORK/NAME.json.
render() {
	local name=$1
	shift
	if ! "$HELM" lint --strict "$CHART" "$@" >"$WORK/$name.lint" 2>&1; then
		cat "$WORK/$name.lint" >&2
		fail "helm lint --strict ($name)"
	fi
	if ! "$HELM" template crawlspace "$CHART" --namespace scan "$@" \
		>"$WORK/$name.yaml" 2>"$WORK/$name.err"; then
		cat "$WORK/$name.err" >&2
		fail "helm template ($name)"
		echo '[]' >"$WORK/$name.json"
		return
	fi
	if ! to_json "$name" 2>"$WORK/$name.err"; then
		cat "$WORK/$name.err" >&2
		fail "rendered YAML parses ($name)"
		echo '[]' >"$WORK/$name.json"
		return
	fi
	log "$name: lint and template ok, $(jq length "$WORK/$name.json") objects"
}

# expect NAME DESCRIPTION JQ_EXPR fails unless JQ_EXPR is true of the
# objects rendered as NAME (a JSON array). $stage is bound when given as
# a fourth argument.
expect() {
	local name=$1 what=$2 expr=$3 stage=${4-}
	if ! jq -e --arg stage "$stage" "$expr" "$WORK/$name.json" >/dev/null 2>"$WORK/jq.err"; then
		cat "$WORK/jq.err" >&2
		fail "$name: $what"
	fi
}

# must_fail DESCRIPTION HELM_ARGS... fails unless helm template refuses the
# values, with a message naming what to set.
must_fail() {
	local what=$1
	shift
	if "$HELM" template crawlspace "$CHART" "$@" >/dev/null 2>"$WORK/must-fail.err"; then
		fail "helm template should refuse: $what"
	elif ! grep -q 'set ' "$WORK/must-fail.err"; then
		cat "$WORK/must-fail.err" >&2
		fail "helm template refused $what without saying what to set"
	fi
}

# Helpers shared by the jq expressions.
JQ_DEFS='
def kind($k): map(select(.kind == $k));
def deploy($s): kind("Deployment")
	| map(select(.metadata.labels["app.kubernetes.io/component"] == $s)) | .[0];
def container: .spec.template.spec.containers[0];
def env($n): container.env | map(select(.name == $n)) | .[0];
def job: kind("Job") | .[0];
def scaled($s): kind("ScaledObject")
	| map(select(.metadata.labels["app.kubernetes.io/component"] == $s)) | .[0];
'

# check_common NAME asserts what holds for every set of values.
check_common() {
	local name=$1 s
	for s in "${STAGES[@]}"; do
		expect "$name" "$s Deployment runs args [$s]" \
			"$JQ_DEFS"' deploy($stage) | container.args == [$stage]' "$s"
		expect "$name" "$s Deployment: probes /healthz and /readyz on the metrics port" \
			"$JQ_DEFS"' deploy($stage) | container
			| .livenessProbe.httpGet == {path: "/healthz", port: "metrics"}
			and .readinessProbe.httpGet == {path: "/readyz", port: "metrics"}
			and (.ports | any(.name == "metrics" and .containerPort == 9090))' "$s"
		expect "$name" "$s Deployment: non-root, read-only root fs, no privilege escalation" \
			"$JQ_DEFS"' deploy($stage) | .spec.template.spec.securityContext.runAsNonRoot == true
			and .spec.template.spec.securityContext.runAsUser == 65532
			and (container.securityContext | .readOnlyRootFilesystem == true
				and .allowPrivilegeEscalation == false and .capabilities.drop == ["ALL"])' "$s"
		expect "$name" "$s Deployment: env from the ConfigMap, CRAWLSPACE_PG_URL from a Secret" \
			"$JQ_DEFS"' deploy($stage) | (container.envFrom[0].configMapRef.name == "crawlspace-env")
			and (env("CRAWLSPACE_PG_URL").valueFrom.secretKeyRef.name | type == "string")' "$s"
		expect "$name" "$s Deployment: prometheus.io/scrape annotation and resources" \
			"$JQ_DEFS"' deploy($stage)
			| .spec.template.metadata.annotations["prometheus.io/scrape"] == "true"
			and (container.resources.requests.cpu | type == "string")' "$s"
	done
	expect "$name" "ConfigMap sets NATS URL, JSON logs, HTTP addr, insecure registries" \
		"$JQ_DEFS"' kind("ConfigMap") | map(select(.metadata.name == "crawlspace-env")) | .[0].data
		| (.CRAWLSPACE_NATS_URL | startswith("nats://")) and .CRAWLSPACE_LOG_FORMAT == "json"
		and .CRAWLSPACE_HTTP_ADDR == ":9090" and has("CRAWLSPACE_INSECURE_REGISTRIES")'
	expect "$name" "migrate Job is a pre-upgrade hook running [migrate]" \
		"$JQ_DEFS"' job
		| (.metadata.annotations["helm.sh/hook"] | split(",") | index("pre-upgrade") != null)
		and .spec.template.spec.containers[0].args == ["migrate"]
		and (.spec.template.spec.containers[0].env | any(.name == "CRAWLSPACE_PG_URL"))
		and .spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem == true'
	expect "$name" "headless metrics Service selects the stage pods" \
		"$JQ_DEFS"' kind("Service") | map(select(.metadata.name == "crawlspace-metrics")) | .[0]
		| .spec.clusterIP == "None" and .spec.selector["crawlspace.dev/metrics"] == "true"'
	expect "$name" "dashboards ConfigMap labelled grafana_dashboard=1 holds valid dashboard JSON" \
		"$JQ_DEFS"' kind("ConfigMap") | map(select(.metadata.labels.grafana_dashboard == "1")) | .[0].data
		| to_entries | length > 0 and all(.value | fromjson | .panels | length > 0)'
	expect "$name" "every object is namespaced to the release or cluster-free" \
		'all(.[]; .metadata.namespace == "scan" or .metadata.namespace == null)'
}

# --- default values: external NATS and PostgreSQL, nothing optional --------
render default
check_common default
expect default "no StatefulSet, ScaledObject or ServiceMonitor by default" \
	"$JQ_DEFS"' (kind("StatefulSet") + kind("ScaledObject") + kind("ServiceMonitor")) | length == 0'
expect default "each stage has its replicas from values" \
	"$JQ_DEFS"' [deploy("crawler"), deploy("notices"), deploy("matcher"), deploy("compliance")]
	| map(.spec.replicas) == [2, 1, 1, 1]'
expect default "migrate Job is pre-install,pre-upgrade and reads the hook Secret" \
	"$JQ_DEFS"' job.metadata.annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
	and (job.spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name
		== "crawlspace-migrate")'
expect default "hook Secret precedes the Job and is deleted after the hooks succeed" \
	"$JQ_DEFS"' kind("Secret") | map(select(.metadata.name == "crawlspace-migrate"))
	| .[0].metadata.annotations
	| .["helm.sh/hook"] == "pre-install,pre-upgrade" and (.["helm.sh/hook-weight"] | tonumber) < 0
	and (.["helm.sh/hook-delete-policy"] | contains("hook-succeeded"))'
expect default "stages read the URL Secret made from postgresql.url" \
	"$JQ_DEFS"' (kind("Secret") | map(select(.metadata.name == "crawlspace-pg-url"))
	| .[0].stringData.url | startswith("postgres://"))
	and (deploy("crawler") | env("CRAWLSPACE_PG_URL").valueFrom.secretKeyRef
		== {name: "crawlspace-pg-url", key: "url"})'

# --- every option on --------------------------------------------------------
render all-on "${ALL_ON[@]}"
check_common all-on
expect all-on "bundled NATS runs nats:2.x with -js and a monitoring port" \
	"$JQ_DEFS"' kind("StatefulSet") | map(select(.metadata.name == "crawlspace-nats"))
	| .[0].spec.template.spec.containers[0]
	| (.image | startswith("nats:2")) and (.args | index("-js") != null)
	and (.args | index("-m") != null)'
expect all-on "bundled PostgreSQL runs postgres:15 with its password from the Secret" \
	"$JQ_DEFS"' kind("StatefulSet") | map(select(.metadata.name == "crawlspace-postgresql"))
	| .[0].spec.template.spec.containers[0]
	| .image == "postgres:15" and (.env | any(.name == "POSTGRES_PASSWORD"
		and .valueFrom.secretKeyRef.name == "crawlspace-postgresql"))'
expect all-on "stages use the bundled servers" \
	"$JQ_DEFS"' (kind("ConfigMap") | map(select(.metadata.name == "crawlspace-env"))
	| .[0].data.CRAWLSPACE_NATS_URL == "nats://crawlspace-nats:4222")
	and (deploy("matcher") | env("CRAWLSPACE_PG_URL").valueFrom.secretKeyRef
		== {name: "crawlspace-postgresql", key: "url"})'
expect all-on "bundled PostgreSQL URL points at its Service" \
	"$JQ_DEFS"' kind("Secret") | map(select(.metadata.name == "crawlspace-postgresql"))
	| .[0].stringData.url
	| test("^postgres://crawlspace:[A-Za-z0-9]{32}@crawlspace-postgresql:5432/crawlspace")'
expect all-on "migrate Job runs post-install with the bundled PostgreSQL" \
	"$JQ_DEFS"' job.metadata.annotations["helm.sh/hook"] == "post-install,pre-upgrade"'
expect all-on "ServiceMonitor scrapes the metrics port of the metrics Service" \
	"$JQ_DEFS"' kind("ServiceMonitor") | length == 1 and (.[0].spec.endpoints[0].port == "metrics")
	and .[0].spec.selector.matchLabels["app.kubernetes.io/component"] == "metrics"'
expect all-on "image pinned by digest" \
	"$JQ_DEFS"' deploy("crawler") | container.image
	| endswith("@sha256:0000000000000000000000000000000000000000000000000000000000000000")'
expect all-on "insecure registries joined with commas" \
	"$JQ_DEFS"' kind("ConfigMap") | map(select(.metadata.name == "crawlspace-env"))
	| .[0].data.CRAWLSPACE_INSECURE_REGISTRIES == "registry.local:5000,127.0.0.1:5000"'
expect all-on "ScaledObjects for crawler, matcher, compliance; none for notices" \
	"$JQ_DEFS"' kind("ScaledObject") | map(.metadata.labels["app.kubernetes.io/component"]) | sort
	== ["compliance", "crawler", "matcher"]'
expect all-on "ScaledObject triggers name each stage's stream and durable consumer" \
	"$JQ_DEFS"' [scaled("crawler"), scaled("matcher"), scaled("compliance")]
	| map([.spec.triggers[] | select(.type == "nats-jetstream")
		| .metadata | "\(.stream)/\(.consumer)"])
	== [["IMAGES/crawler"], ["IMAGES/matcher-images", "NOTICES/matcher-notices"],
		["IMAGES/compliance"]]'
expect all-on \
	"ScaledObjects read the bundled NATS monitoring endpoint and target their Deployment" \
	"$JQ_DEFS"' kind("ScaledObject") | all(.spec.triggers[0].metadata.natsServerMonitoringEndpoint
	== "crawlspace-nats.scan.svc:8222" and .spec.scaleTargetRef.name == .metadata.name)'
expect all-on "KEDA owns the replicas of scaled stages; notices keeps its own" \
	"$JQ_DEFS"' (deploy("crawler").spec | has("replicas") | not)
	and deploy("notices").spec.replicas == 1'

# --- an existing Secret for the URL -----------------------------------------
render existing "${EXISTING[@]}"
check_common existing
expect existing "no chart-made URL Secret; stages and migrate Job read the existing one" \
	"$JQ_DEFS"' (kind("Secret") | length == 0)
	and (deploy("compliance") | env("CRAWLSPACE_PG_URL").valueFrom.secretKeyRef
		== {name: "crawlspace-db", key: "dsn"})
	and (job.spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef
		== {name: "crawlspace-db", key: "dsn"})'
expect existing "ScaledObjects use keda.natsMonitoringEndpoint" \
	"$JQ_DEFS"' kind("ScaledObject") | length == 3
	and all(.spec.triggers[0].metadata.natsServerMonitoringEndpoint == "nats.nats.svc:8222")'

# --- values that cannot work ------------------------------------------------
must_fail "no PostgreSQL URL" --set postgresql.url=
must_fail "no NATS URL" --set nats.url=
must_fail "KEDA with an external NATS and no monitoring endpoint" --set keda.enabled=true

# --- NOTES.txt, which only an install renders -------------------------------
for args in default all-on; do
	extra=()
	[[ $args == all-on ]] && extra=("${ALL_ON[@]}")
	if ! "$HELM" install crawlspace "$CHART" --namespace scan --dry-run=client "${extra[@]}" \
		>"$WORK/notes-$args.txt" 2>&1; then
		cat "$WORK/notes-$args.txt" >&2
		fail "helm install --dry-run=client ($args)"
	elif ! grep -qF "pub image.named '{\"ref\":\"docker.io/library/nginx:1.27\"}'" \
		"$WORK/notes-$args.txt"; then
		fail "NOTES.txt ($args) does not say how to trigger a scan"
	fi
done

# --- dashboards -------------------------------------------------------------
for f in "$CHART"/dashboards/*.json; do
	if ! jq -e '
		(.title | type == "string") and (.uid | type == "string") and (.panels | length > 0)
		and ([.panels[] | select(.type != "row") | .targets[].expr] | length > 0)
		and ([.panels[] | .targets[]?.expr] | map(test("crawlspace_(stage|outbox)_")) | all)
		and ([.panels[].gridPos | type == "object"] | all)' "$f" >/dev/null; then
		fail "dashboard $f is not a valid Grafana dashboard"
	fi
	for m in stage_processed_total stage_failed_total stage_retried_total \
		stage_duration_seconds_bucket outbox_batches outbox_oldest_seconds; do
		grep -q "crawlspace_$m" "$f" || fail "dashboard $f does not chart crawlspace_$m"
	done
	if ! grep -q 'histogram_quantile(0.5,' "$f" || ! grep -q 'histogram_quantile(0.95,' "$f"; then
		fail "dashboard $f lacks p50 and p95 durations"
	fi
done

if ((FAILURES)); then
	die "$FAILURES chart check(s) failed"
fi
log "chart checks passed"
