{{/*
Poollet pieces shared by the broker and leaf charts. Call with
  (dict "root" $ "kind" "machine" "name" NAME "pool" POOLNAME "endpoint" "unix:///var/run/..."
        "metricsPort" N "probePort" N "values" KINDVALUES ["nodeName" true: $(NODE_NAME) is set])
*/}}

{{/* The poollet's rules in its own cluster (poollet/core, poollet/<kind>poollet): read and patch its
kind's objects and their status, announce the pool (create it, patch its status), read classes,
read a Machine's Volumes and NetworkInterfaces, write access Secrets, record Events. */}}
{{- define "ironfed.poolletRules" -}}
{{- $g := ternary "compute.ironcore.dev" "storage.ironcore.dev" (eq .kind "machine") -}}
- apiGroups: [{{ $g }}]
  resources: [{{ .kind }}s]
  verbs: [get, list, watch, patch]
- apiGroups: [{{ $g }}]
  resources: [{{ .kind }}s/status, {{ .kind }}pools/status]
  verbs: [patch]
- apiGroups: [{{ $g }}]
  resources: [{{ .kind }}pools]
  verbs: [get, list, watch, create]
- apiGroups: [{{ $g }}]
  resources: [{{ .kind }}classes]
  verbs: [get, list, watch]
{{- if eq .kind "machine" }}
# The Volumes and NetworkInterfaces a Machine uses (its ephemeral ones are the controller-manager's).
- apiGroups: [storage.ironcore.dev]
  resources: [volumes]
  verbs: [get, list, watch]
- apiGroups: [networking.ironcore.dev]
  resources: [networkinterfaces]
  verbs: [get, list, watch]
# Ignition and volume access Secrets it hands to the runtime: read without a cache, and watched
# (metadata only) so a Machine waiting for its Secret is retried when it appears.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch]
{{- else if eq .kind "volume" }}
# VolumeSnapshots of the pool's Volumes: taken, finalised, their status written.
- apiGroups: [storage.ironcore.dev]
  resources: [volumesnapshots]
  verbs: [get, list, watch, patch]
- apiGroups: [storage.ironcore.dev]
  resources: [volumesnapshots/status]
  verbs: [patch]
# Access Secrets written for volumes, encryption Secrets read (without a cache) and watched
# (metadata only) so a Volume waiting for its Secret is retried when it appears.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch]
{{- else }}
# Access Secrets written for buckets (read without a cache).
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, create, patch]
{{- end }}
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- if .root.Values.metrics.secure }}
{{- /* The same two rules also serve the console server (console.enabled). */}}
{{- include "ironfed.metricsReviewRules" .root }}
{{- else if and (eq .kind "machine") .root.Values.console.enabled }}
# The console server authenticates callers (bearer tokens) and authorizes machines/exec, as any
# delegating server does.
- apiGroups: [authentication.k8s.io]
  resources: [tokenreviews]
  verbs: [create]
- apiGroups: [authorization.k8s.io]
  resources: [subjectaccessreviews]
  verbs: [create]
{{- end }}
{{- end -}}

{{- define "ironfed.poolletRBAC" -}}
{{- $labels := include "ironfed.labels" .root -}}
{{- $cr := printf "ironfed:%spoollet:%s:%s" .kind .root.Release.Namespace .name | trunc 253 -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ $cr }}
  labels:
    {{- $labels | nindent 4 }}
rules:
  {{- include "ironfed.poolletRules" . | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ $cr }}
  labels:
    {{- $labels | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ $cr }}
subjects:
  - kind: ServiceAccount
    name: {{ .name }}
    namespace: {{ .root.Release.Namespace }}
---
# The pool's heartbeat Lease, named after the pool in IronCore's namespace of its kind.
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ .name }}-{{ .kind }}poollet-heartbeat
  namespace: ironcore-{{ .kind }}pool-lease
  labels:
    {{- $labels | nindent 4 }}
rules:
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    verbs: [get, create, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ .name }}-{{ .kind }}poollet-heartbeat
  namespace: ironcore-{{ .kind }}pool-lease
  labels:
    {{- $labels | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ .name }}-{{ .kind }}poollet-heartbeat
subjects:
  - kind: ServiceAccount
    name: {{ .name }}
    namespace: {{ .root.Release.Namespace }}
{{- if and (eq .kind "machine") .root.Values.console.enabled }}
---
# The cluster's client CA (kube-system/extension-apiserver-authentication) for client certificates
# at the console server.
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ printf "ironfed:%spoollet:%s:%s" .kind .root.Release.Namespace .name | trunc 253 }}
  namespace: kube-system
  labels:
    {{- $labels | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: extension-apiserver-authentication-reader
subjects:
  - kind: ServiceAccount
    name: {{ .name }}
    namespace: {{ .root.Release.Namespace }}
{{- end }}
{{- if .root.Values.leaderElection.enabled }}
---
# Leader election of poollet replicas: a Lease in the release namespace.
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ .name }}-{{ .kind }}poollet-leader-election
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- $labels | nindent 4 }}
rules:
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    verbs: [get, create, update]
  # "became leader" is recorded as a core/v1 Event on the Lease.
  - apiGroups: [""]
    resources: [events]
    verbs: [create, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ .name }}-{{ .kind }}poollet-leader-election
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- $labels | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ .name }}-{{ .kind }}poollet-leader-election
subjects:
  - kind: ServiceAccount
    name: {{ .name }}
    namespace: {{ .root.Release.Namespace }}
{{- end }}
{{- end -}}

{{/* The poollet container; the runtime socket is in the pod's shared /var/run. */}}
{{- define "ironfed.poolletContainer" -}}
{{- $v := .values -}}
{{- $le := .root.Values.leaderElection -}}
{{- $c := .root.Values.console -}}
{{- $console := and (eq .kind "machine") $c.enabled -}}
- name: {{ .kind }}poollet
  image: {{ include "ironfed.image" .root }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  command: [/usr/local/bin/{{ .kind }}poollet]
  args:
    - --{{ .kind }}-pool-name={{ .pool }}
    - --provider-id={{ .providerID }}
    {{- range $k, $val := $v.poolLabels }}
    - --pool-labels={{ $k }}={{ $val }}
    {{- end }}
    - --{{ .kind }}-runtime-endpoint={{ .endpoint }}
    - --{{ .kind }}-runtime-socket-discovery-timeout=1m
    {{- if eq .kind "bucket" }}
    - --bucket-pool-capacity={{ $v.poolCapacity }}
    {{- end }}
    - --leader-elect={{ $le.enabled }}
    - --leader-elect-resource-namespace={{ .root.Release.Namespace }}
    - --leader-elect-lease-duration={{ $le.leaseDuration }}
    - --leader-elect-renew-deadline={{ $le.renewDeadline }}
    - --leader-elect-retry-period={{ $le.retryPeriod }}
    - --metrics-bind-address=:{{ .metricsPort }}
    {{- include "ironfed.metricsArgs" .root | nindent 4 }}
    - --health-probe-bind-address=:{{ .probePort }}
    - --zap-log-level={{ .root.Values.logLevel }}
    {{- if $console }}
    - --console-bind-address=:{{ $c.port }}
    - --console-advertise-address={{ $c.advertiseAddress | default "$(POD_IP)" }}
    {{- if $c.tlsSecret }}
    - --console-tls-cert-file=/etc/ironfed/console-tls/tls.crt
    - --console-tls-private-key-file=/etc/ironfed/console-tls/tls.key
    {{- end }}
    {{- end }}
    {{- range $v.poollet.extraArgs }}
    - {{ . | quote }}
    {{- end }}
  {{- if or $console .nodeName }}
  env:
    {{- if $console }}
    - name: POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    {{- end }}
    {{- if .nodeName }}
    # A DaemonSet's poollet announces one pool per node: $(NODE_NAME) in its pool name.
    - name: NODE_NAME
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
    {{- end }}
  {{- end }}
  ports:
    - name: {{ .kind }}-metrics
      containerPort: {{ .metricsPort }}
    - name: {{ .kind }}-probes
      containerPort: {{ .probePort }}
    {{- if $console }}
    - name: console
      containerPort: {{ $c.port }}
    {{- end }}
  livenessProbe:
    httpGet: {path: /healthz, port: {{ .kind }}-probes}
    initialDelaySeconds: 5
    periodSeconds: 10
    timeoutSeconds: 5
    failureThreshold: 6
  readinessProbe:
    httpGet: {path: /readyz, port: {{ .kind }}-probes}
    periodSeconds: 5
    timeoutSeconds: 5
  securityContext:
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    capabilities: {drop: [ALL]}
  {{- with $v.poollet.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - {name: run, mountPath: /var/run}
    {{- if and $console $c.tlsSecret }}
    - {name: console-tls, mountPath: /etc/ironfed/console-tls, readOnly: true}
    {{- end }}
    {{- include "ironfed.metricsVolumeMounts" .root | nindent 4 }}
{{- end -}}

{{/* The pod volume of the console server's certificate (the machinepoollet mounts it). */}}
{{- define "ironfed.consoleVolumes" -}}
{{- $c := .Values.console -}}
{{- if and $c.enabled .Values.machine.enabled $c.tlsSecret }}
- name: console-tls
  secret:
    secretName: {{ $c.tlsSecret }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{/* Flags of the runtime's exec server (machine broker, provider): plain HTTP on the pod's
loopback, where only the machinepoollet of the same pod redeems its URLs. */}}
{{- define "ironfed.execArgs" -}}
{{- if .Values.console.enabled }}
- --exec-bind-address=127.0.0.1:{{ .Values.console.execPort }}
- --exec-url=http://127.0.0.1:{{ .Values.console.execPort }}
{{- end }}
{{- end -}}
