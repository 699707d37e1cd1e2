{{/*
Helpers of the ipo-app chart: object names, labels, selectors, image references and the
security contexts shared by every pod. Nothing here renders an object by itself.
*/}}

{{/* ipo-app.name: the chart name, or nameOverride. */}}
{{- define "ipo-app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* ipo-app.fullname: prefix of every object name (max 40 chars, leaving room for suffixes). */}}
{{- define "ipo-app.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* ipo-app.chart: chart name and version for the helm.sh/chart label. */}}
{{- define "ipo-app.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
ipo-app.selectorLabels: the immutable labels that select one tier's pods.
Call with (dict "root" $ "component" "frontend").
*/}}
{{- define "ipo-app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ipo-app.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* ipo-app.labels: selector labels plus the descriptive ones. Same argument as above. */}}
{{- define "ipo-app.labels" -}}
{{ include "ipo-app.selectorLabels" . }}
app.kubernetes.io/part-of: ipo-app
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "ipo-app.chart" .root }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* ipo-app.image: "repo:tag" or "repo@digest" from an image values block. */}}
{{- define "ipo-app.image" -}}
{{- if .digest -}}
{{- printf "%s@%s" .repository .digest -}}
{{- else -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}
{{- end -}}

{{/* Object names of the three tiers and their Secrets. */}}
{{- define "ipo-app.frontend.fullname" -}}{{ include "ipo-app.fullname" . }}-frontend{{- end -}}
{{- define "ipo-app.backend.fullname" -}}{{ include "ipo-app.fullname" . }}-backend{{- end -}}
{{- define "ipo-app.database.fullname" -}}{{ include "ipo-app.fullname" . }}-database{{- end -}}
{{- define "ipo-app.database.headless" -}}{{ include "ipo-app.fullname" . }}-database-headless{{- end -}}

{{- define "ipo-app.tlsSecretName" -}}
{{- default (printf "%s-frontend-tls" (include "ipo-app.fullname" .)) .Values.frontend.ingress.tls.secretName -}}
{{- end -}}

{{- define "ipo-app.databaseSecretName" -}}
{{- default (include "ipo-app.database.fullname" .) .Values.database.auth.existingSecret -}}
{{- end -}}

{{/* ipo-app.databaseHost: the ClusterIP Service DNS name the backend connects to. */}}
{{- define "ipo-app.databaseHost" -}}
{{- printf "%s.%s.svc.cluster.local" (include "ipo-app.database.fullname" .) .Release.Namespace -}}
{{- end -}}

{{/* ipo-app.podSecurity: pod-level fields shared by all pods (no token, restricted PSS). */}}
{{- define "ipo-app.podSecurity" -}}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
