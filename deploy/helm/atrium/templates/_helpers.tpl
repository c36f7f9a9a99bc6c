{{/* The release's full name, at most 63 characters (a DNS label). */}}
{{- define "atrium.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "atrium.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "atrium.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "atrium.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "atrium.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The configuration the chart owns; values.appConfig is merged over it. */}}
{{- define "atrium.appConfig" -}}
{{- $base := dict
  "backend" (dict
    "baseUrl" .Values.baseUrl
    "listen" (dict "host" "0.0.0.0" "port" 7007)
    "database" (dict "client" "pg" "connection" "${env:ATRIUM_DATABASE_URL}" "pool" (dict "max" .Values.database.poolMax)))
  "atrium" (dict "dataDir" "/var/lib/atrium" "demo" false)
-}}
{{- if .Values.policies.configMap -}}
{{- $_ := set $base.atrium "authz" (dict "policies" (list "/etc/atrium/policies/policy.yaml")) -}}
{{- end -}}
{{- $merged := mustMergeOverwrite $base (deepCopy .Values.appConfig) -}}
{{- toYaml $merged -}}
{{- end -}}
