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

{{/*
GOMEMLIMIT in bytes: goMemLimitPercent of the container's memory limit
(resources.limits.memory, a Kubernetes quantity). The rest is left for what
the Go runtime's limit does not cover (SQLite's page caches, the mapped
binary, thread stacks), which would otherwise push the pod over its limit
and get it OOM-killed before the collector tries harder.
*/}}
{{- define "atrium.goMemLimit" -}}
{{- $q := .Values.resources.limits.memory -}}
{{- $s := kindIs "string" $q | ternary $q (printf "%.0f" (float64 $q)) -}}
{{- if not (regexMatch "^[0-9]+(\\.[0-9]+)?(k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$" $s) -}}
{{- fail (printf "resources.limits.memory %q: want a number of bytes with an optional suffix k, M, G, T, Ki, Mi, Gi or Ti" $s) -}}
{{- end -}}
{{- $pct := .Values.goMemLimitPercent -}}
{{- if or (lt (float64 $pct) 1.0) (gt (float64 $pct) 100.0) -}}
{{- fail (printf "goMemLimitPercent %v: want a number from 1 to 100" $pct) -}}
{{- end -}}
{{- $num := regexFind "^[0-9]+(\\.[0-9]+)?" $s -}}
{{- $units := dict "" 1.0 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 -}}
{{- $unit := get $units (trimPrefix $num $s) -}}
{{- printf "%.0f" (floor (divf (mulf (float64 $num) $unit (float64 $pct)) 100)) -}}
{{- end -}}
