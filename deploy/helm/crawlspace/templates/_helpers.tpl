{{/*
crawlspace.name is the chart's name, or nameOverride.
*/}}
{{- define "crawlspace.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
crawlspace.fullname prefixes every object the chart creates: the release
name, with the chart name appended unless the release name contains it.
*/}}
{{- define "crawlspace.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
crawlspace.labels are the common labels on every object.
*/}}
{{- define "crawlspace.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "crawlspace.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: crawlspace
{{- end }}

{{/*
crawlspace.selectorLabels select every pod of the release.
*/}}
{{- define "crawlspace.selectorLabels" -}}
app.kubernetes.io/name: {{ include "crawlspace.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
crawlspace.image is the one image every stage and the migrate Job run:
repository@digest when a digest is given, else repository:tag, the tag
defaulting to the chart's appVersion.
*/}}
{{- define "crawlspace.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "crawlspace.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "crawlspace.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
crawlspace.natsURL is the NATS server the stages use: the bundled one's
Service, or nats.url. The stages embed a server when the URL is empty, which
is never right in a cluster, so an empty URL fails the render.
*/}}
{{- define "crawlspace.natsURL" -}}
{{- if .Values.nats.bundled }}
{{- printf "nats://%s-nats:%d" (include "crawlspace.fullname" .) (int .Values.nats.port) }}
{{- else }}
{{- required "set nats.url to an external NATS server with JetStream, or nats.bundled=true" .Values.nats.url }}
{{- end }}
{{- end }}

{{/*
crawlspace.natsMonitoringEndpoint is the host:port of the NATS monitoring
endpoint KEDA reads consumer backlogs from.
*/}}
{{- define "crawlspace.natsMonitoringEndpoint" -}}
{{- if .Values.keda.natsMonitoringEndpoint }}
{{- .Values.keda.natsMonitoringEndpoint }}
{{- else if .Values.nats.bundled }}
{{- printf "%s-nats.%s.svc:%d" (include "crawlspace.fullname" .) .Release.Namespace (int .Values.nats.monitorPort) }}
{{- else }}
{{- required "set keda.natsMonitoringEndpoint (host:port of the NATS monitoring endpoint) for KEDA with an external NATS" "" }}
{{- end }}
{{- end }}

{{/*
crawlspace.pgSecretName and crawlspace.pgSecretKey name the Secret key that
holds CRAWLSPACE_PG_URL for the stages.
*/}}
{{- define "crawlspace.pgSecretName" -}}
{{- if .Values.postgresql.bundled }}
{{- printf "%s-postgresql" (include "crawlspace.fullname" .) }}
{{- else if .Values.postgresql.existingSecret }}
{{- .Values.postgresql.existingSecret }}
{{- else }}
{{- printf "%s-pg-url" (include "crawlspace.fullname" .) }}
{{- end }}
{{- end }}

{{- define "crawlspace.pgSecretKey" -}}
{{- if and (not .Values.postgresql.bundled) .Values.postgresql.existingSecret }}
{{- .Values.postgresql.existingSecretKey }}
{{- else }}
{{- "url" }}
{{- end }}
{{- end }}

{{/*
crawlspace.pgURL is postgresql.url, required unless the URL comes from an
existing Secret or the bundled server.
*/}}
{{- define "crawlspace.pgURL" -}}
{{- required "set postgresql.url, postgresql.existingSecret, or postgresql.bundled=true" .Values.postgresql.url }}
{{- end }}

{{/*
crawlspace.consumers lists, per stage, the JetStream durable consumers the
stage reads (stream and consumer names as the code declares them). KEDA
scales a stage on their backlog; notices has none, it runs on a schedule.
*/}}
{{- define "crawlspace.consumers" -}}
crawler:
  - {stream: IMAGES, consumer: crawler}
matcher:
  - {stream: IMAGES, consumer: matcher-images}
  - {stream: NOTICES, consumer: matcher-notices}
compliance:
  - {stream: IMAGES, consumer: compliance}
notices: []
{{- end }}
