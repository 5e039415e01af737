{{/* Name of the release's objects, capped at 63 characters. */}}
{{- define "ironfed.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ironfed.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ironfed
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "ironfed.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ironfed.image" -}}
{{- if not .Values.image.tag -}}{{- fail "image.tag must be set (pinned; make images prints the tag of a local build)" -}}{{- end -}}
{{- if eq .Values.image.tag "latest" -}}{{- fail "image.tag must be pinned, not latest" -}}{{- end -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}

{{/* Protected /metrics (metrics.secure, docs/controller-manager.md "Protected metrics"): HTTPS, and
every caller's bearer token is reviewed by the apiserver (TokenReview, then SubjectAccessReview for
get on the non-resource URL /metrics). The flags of a container serving /metrics that way: */}}
{{- define "ironfed.metricsArgs" -}}
{{- if .Values.metrics.secure }}
- --metrics-secure
{{- if .Values.metrics.certSecret }}
- --metrics-cert-dir=/etc/ironfed/metrics-tls
{{- end }}
{{- end }}
{{- end -}}

{{/* The mount of metrics.certSecret in such a container. */}}
{{- define "ironfed.metricsVolumeMounts" -}}
{{- if and .Values.metrics.secure .Values.metrics.certSecret }}
- {name: metrics-tls, mountPath: /etc/ironfed/metrics-tls, readOnly: true}
{{- end }}
{{- end -}}

{{/* The pod volume of metrics.certSecret (tls.crt and tls.key of a kubernetes.io/tls Secret). */}}
{{- define "ironfed.metricsVolumes" -}}
{{- if and .Values.metrics.secure .Values.metrics.certSecret }}
- name: metrics-tls
  secret:
    secretName: {{ .Values.metrics.certSecret }}
    defaultMode: 0440
    items: [{key: tls.crt, path: tls.crt}, {key: tls.key, path: tls.key}]
{{- end }}
{{- end -}}

{{/* The rules a ServiceAccount needs to review the callers of its protected /metrics. */}}
{{- define "ironfed.metricsReviewRules" -}}
{{- if .Values.metrics.secure }}
# Protected /metrics (metrics.secure): review the scrapers' tokens and their right to get /metrics.
- apiGroups: [authentication.k8s.io]
  resources: [tokenreviews]
  verbs: [create]
- apiGroups: [authorization.k8s.io]
  resources: [subjectaccessreviews]
  verbs: [create]
{{- end }}
{{- end -}}

{{/* Name of the ClusterRole operators bind to their scraper. */}}
{{- define "ironfed.metricsReaderName" -}}
{{- printf "ironfed:metrics-reader:%s:%s" .Release.Namespace (include "ironfed.fullname" .) | trunc 253 -}}
{{- end -}}

{{/* That ClusterRole: get on /metrics, which the protected endpoints authorize. */}}
{{- define "ironfed.metricsReader" -}}
{{- if .Values.metrics.secure }}
# Bind it to the identity that scrapes this release's /metrics (e.g. Prometheus's ServiceAccount):
# the protected endpoints answer only callers allowed to get the non-resource URL /metrics.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ include "ironfed.metricsReaderName" . }}
  labels:
    {{- include "ironfed.labels" . | nindent 4 }}
rules:
  - nonResourceURLs: [/metrics]
    verbs: [get]
{{- end }}
{{- end -}}
