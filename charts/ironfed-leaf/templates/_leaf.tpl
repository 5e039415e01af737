{{/* Pieces of the leaf chart's workloads (memory.yaml, libvirt.yaml, ceph-bucket.yaml, ceph-volume.yaml). */}}

{{/* The kinds the release serves, comma-separated: those of provider.type that are enabled. */}}
{{- define "ironfed.leafKinds" -}}
{{- $served := dict "memory" (list "machine" "volume" "bucket") "libvirt" (list "machine") "ceph-bucket" (list "bucket") "ceph-volume" (list "volume") -}}
{{- $type := .Values.provider.type -}}
{{- if not (hasKey $served $type) -}}
{{- fail (printf "provider.type %q is unknown: memory, libvirt, ceph-bucket or ceph-volume" $type) -}}
{{- end -}}
{{- $kinds := list -}}
{{- range $kind := index $served $type }}{{ if (index $.Values $kind).enabled }}{{ $kinds = append $kinds $kind }}{{ end }}{{ end -}}
{{- if not $kinds }}{{ fail (printf "provider %s serves %s: enable at least one of them" $type (join ", " (index $served $type))) }}{{ end -}}
{{- join "," $kinds -}}
{{- end -}}

{{- define "ironfed.leafProviderID" -}}
{{- .Values.providerID | default (printf "%s://%s/%s" .Values.provider.type .Release.Namespace .Release.Name) -}}
{{- end -}}

{{/* The poollet containers of the enabled kinds. Call with (dict "root" $ "nodeName" BOOL). */}}
{{- define "ironfed.leafPoollets" -}}
{{- $root := .root -}}
{{- $name := include "ironfed.fullname" $root -}}
{{- $providerID := include "ironfed.leafProviderID" $root -}}
{{- $node := .nodeName -}}
{{- range $kind := splitList "," (include "ironfed.leafKinds" $root) }}
{{- $v := index $root.Values $kind }}
{{- $pool := $v.poolName | default (ternary "$(NODE_NAME)" $root.Release.Name $node) }}
{{- $args := dict "root" $root "kind" $kind "name" $name "pool" $pool "providerID" $providerID "endpoint" (printf "unix:///var/run/iri-%sprovider.sock" $kind) "metricsPort" $v.metricsPort "probePort" $v.probePort "values" $v "nodeName" $node }}
{{ include "ironfed.poolletContainer" $args }}
{{- end }}
{{- end -}}

{{- define "ironfed.leafScheduling" -}}
{{- with .Values.nodeSelector }}
# Quoted: --set nodeSelector.x=true gives a bool, which a nodeSelector refuses.
nodeSelector:
  {{- range $k, $v := . }}
  {{ $k }}: {{ $v | toString | quote }}
  {{- end }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
