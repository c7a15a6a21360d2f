{{- /* Names and labels our templates share with the two dependencies. */ -}}

{{- /* The dask-gateway chart's fullname (its _helpers.tpl, as a subchart). */ -}}
{{- define "course-hub.gatewayFullname" -}}
{{- $values := index .Values "dask-gateway" | default dict -}}
{{- if $values.fullnameOverride -}}
{{- $values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default "dask-gateway" $values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "course-hub.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- /* Students' server pods, as z2jh's own singleuser NetworkPolicy selects them. */ -}}
{{- define "course-hub.singleuserLabels" -}}
app: jupyterhub
release: {{ .Release.Name }}
component: singleuser-server
{{- end -}}

{{- /* A dask-gateway chart pod: (list . "gateway"|"traefik"|"controller"). */ -}}
{{- define "course-hub.gatewayLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: dask-gateway
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- /* Where schedulers and workers (students' code) may connect. */ -}}
{{- define "course-hub.clusterEgress" -}}
{{- $gateway := include "course-hub.gatewayFullname" . -}}
# DNS
- ports:
    - {port: 53, protocol: UDP}
    - {port: 53, protocol: TCP}
# The other pods of their gateway's clusters, and the gateway's API (heartbeats).
- to:
    - podSelector:
        matchLabels:
          gateway.dask.org/instance: {{ $gateway }}
- to:
    - podSelector:
        matchLabels:
          {{- include "course-hub.gatewayLabels" (list . "gateway") | nindent 10 }}
  ports:
    - {port: 8000, protocol: TCP}
# The Internet (data, packages), not private addresses nor the metadata server.
- to:
    - ipBlock:
        cidr: 0.0.0.0/0
        except:
          - 10.0.0.0/8
          - 172.16.0.0/12
          - 192.168.0.0/16
          - 169.254.169.254/32
{{- end -}}
