{{/*
crawlspace.deployment renders one stage's Deployment. Call it with
(dict "root" $ "stage" NAME). Every stage runs the same image with its name
as the only argument; they differ in replicas, resources and env.
*/}}
{{- define "crawlspace.deployment" -}}
{{- $root := .root }}
{{- $stage := .stage }}
{{- $s := index $root.Values.stages $stage }}
{{- if $s.enabled }}
{{- $autoscaled := and $root.Values.keda.enabled $s.autoscaling.enabled (gt (len (index (include "crawlspace.consumers" $root | fromYaml) $stage)) 0) }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "crawlspace.fullname" $root }}-{{ $stage }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "crawlspace.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ $stage }}
spec:
  {{- if not $autoscaled }}
  replicas: {{ $s.replicas }}
  {{- end }}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      {{- include "crawlspace.selectorLabels" $root | nindent 6 }}
      app.kubernetes.io/component: {{ $stage }}
  template:
    metadata:
      labels:
        {{- include "crawlspace.selectorLabels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ $stage }}
        crawlspace.dev/metrics: "true"
        {{- with $root.Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
        checksum/secret: {{ include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum }}
        {{- if $root.Values.metrics.scrapeAnnotations }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $root.Values.metrics.port | quote }}
        prometheus.io/path: /metrics
        {{- end }}
        {{- with $root.Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "crawlspace.serviceAccountName" $root }}
      automountServiceAccountToken: false
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ $s.terminationGracePeriodSeconds | default 30 }}
      containers:
        - name: {{ $stage }}
          image: {{ include "crawlspace.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: [{{ $stage | quote }}]
          envFrom:
            - configMapRef:
                name: {{ include "crawlspace.fullname" $root }}-env
          env:
            - name: CRAWLSPACE_PG_URL
              valueFrom:
                secretKeyRef:
                  name: {{ include "crawlspace.pgSecretName" $root }}
                  key: {{ include "crawlspace.pgSecretKey" $root }}
            - name: CRAWLSPACE_WORKERS
              value: {{ $s.workers | quote }}
            {{- if eq $stage "notices" }}
            - name: CRAWLSPACE_NOTICES_SOURCES
              value: {{ join "," $s.sources | quote }}
            - name: CRAWLSPACE_NOTICES_INTERVAL
              value: {{ $s.interval | quote }}
            {{- end }}
            {{- range $k, $v := $s.env }}
            - name: {{ $k }}
              value: {{ $v | quote }}
            {{- end }}
            {{- with $root.Values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          ports:
            - name: metrics
              containerPort: {{ $root.Values.metrics.port }}
              protocol: TCP
          livenessProbe:
            httpGet:
              path: /healthz
              port: metrics
            {{- toYaml $root.Values.probes.liveness | nindent 12 }}
          readinessProbe:
            httpGet:
              path: /readyz
              port: metrics
            {{- toYaml $root.Values.probes.readiness | nindent 12 }}
          resources:
            {{- toYaml $s.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: {{ $s.tmpSize | default "1Gi" }}
      {{- with (default $root.Values.nodeSelector $s.nodeSelector) }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with (default $root.Values.tolerations $s.tolerations) }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with (default $root.Values.affinity $s.affinity) }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
{{- end }}

{{/*
crawlspace.scaledObject renders a KEDA ScaledObject for one stage, with one
nats-jetstream trigger per durable consumer the stage reads. KEDA scales on
the largest of them. Call it with (dict "root" $ "stage" NAME).
*/}}
{{- define "crawlspace.scaledObject" -}}
{{- $root := .root }}
{{- $stage := .stage }}
{{- $s := index $root.Values.stages $stage }}
{{- $consumers := index (include "crawlspace.consumers" $root | fromYaml) $stage }}
{{- if and $root.Values.keda.enabled $s.enabled $s.autoscaling.enabled $consumers }}
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: {{ include "crawlspace.fullname" $root }}-{{ $stage }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "crawlspace.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ $stage }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "crawlspace.fullname" $root }}-{{ $stage }}
  pollingInterval: {{ $root.Values.keda.pollingInterval }}
  cooldownPeriod: {{ $root.Values.keda.cooldownPeriod }}
  minReplicaCount: {{ $s.autoscaling.minReplicas }}
  maxReplicaCount: {{ $s.autoscaling.maxReplicas }}
  triggers:
    {{- range $consumers }}
    - type: nats-jetstream
      name: {{ .consumer }}
      metadata:
        natsServerMonitoringEndpoint: {{ include "crawlspace.natsMonitoringEndpoint" $root | quote }}
        account: {{ $root.Values.keda.account | quote }}
        stream: {{ .stream | quote }}
        consumer: {{ .consumer | quote }}
        lagThreshold: {{ $s.autoscaling.lagThreshold | quote }}
        activationLagThreshold: {{ $s.autoscaling.activationLagThreshold | quote }}
        useHttps: {{ $root.Values.keda.useHttps | quote }}
    {{- end }}
{{- end }}
{{- end }}
