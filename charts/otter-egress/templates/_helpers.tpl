{{/* Names and labels shared by the templates. */}}

{{- define "otter-egress.labels" -}}
app.kubernetes.io/name: otter-egress
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "otter-egress.selector" -}}
app.kubernetes.io/name: otter-egress
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "otter-egress.collector" -}}{{ printf "%s-collector" .Release.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "otter-egress.webhook" -}}{{ printf "%s-webhook" .Release.Name | trunc 63 | trimSuffix "-" }}{{- end -}}

{{- define "otter-egress.image" -}}
{{ .image.repository }}:{{ default .root.Chart.AppVersion .image.tag }}
{{- end -}}

{{/* The restricted Pod Security Standard, for every pod and container. */}}
{{- define "otter-egress.podSecurity" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "otter-egress.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
