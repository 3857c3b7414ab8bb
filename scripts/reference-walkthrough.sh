#!/usr/bin/env bash
# The reference guide's three scenarios by hand, as the README's walkthrough shows them:
# kubectl, curl and openssl s_client against `portcullis cluster up`. Run from the
# repository root after `npm ci`, as root. Leaves the cluster running; `npx portcullis
# cluster down` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)

npx portcullis cluster up
eval "$(npx portcullis cluster env)"

# The guide's test certificate: RSA 2048, SHA-256, 365 days, CN and SAN demo.example.com.
openssl req -x509 -newkey rsa:2048 -sha256 -days 365 -nodes \
  -keyout "$work/server.key" -out "$work/server.crt" -subj "/CN=demo.example.com" \
  -addext "subjectAltName=DNS:demo.example.com" -addext "keyUsage=digitalSignature" \
  -addext "extendedKeyUsage=serverAuth" 2>/dev/null
kubectl create secret tls demo.example.com --cert="$work/server.crt" --key="$work/server.key" \
  --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -f manifests/scenarios/echo.yaml
kubectl wait --for=condition=Available deployment/echo --timeout=120s

echo "== Scenario 1: Gateway API termination (HTTPRoute)"
kubectl apply -f manifests/scenarios/scenario-1-gateway-termination.yaml
kubectl wait --for=condition=Programmed gateway/kong --timeout=60s
PROXY_IP=$(kubectl get gateway kong -o jsonpath='{.status.addresses[0].value}')
for _ in $(seq 30); do curl -s -o /dev/null -k -H "Host:demo.example.com" "https://$PROXY_IP/echo" && break; sleep 1; done
curl --cacert "$work/server.crt" -i -k -v -H "Host:demo.example.com" "https://$PROXY_IP/echo"

echo "== Scenario 2: Ingress termination"
kubectl apply -f manifests/scenarios/scenario-2-ingress-termination.yaml
for _ in $(seq 60); do
  INGRESS_IP=$(kubectl get ingress demo-example-com -o jsonpath='{.status.loadBalancer.ingress[0].ip}')
  [ -n "$INGRESS_IP" ] && break; sleep 1
done
for _ in $(seq 30); do curl -s -o /dev/null -k -H "Host:demo.example.com" "https://$INGRESS_IP/echo" && break; sleep 1; done
curl --cacert "$work/server.crt" -i -k -v -H "Host:demo.example.com" "https://$INGRESS_IP/echo"

echo "== Scenario 3: Gateway API passthrough (TLSRoute)"
kubectl apply -f manifests/scenarios/scenario-3-gateway-passthrough.yaml
kubectl wait --for=condition=Available deployment/tlsecho --timeout=120s
kubectl wait --for=condition=Programmed gateway/example-gateway-passthrough --timeout=60s
PROXY_IP=$(kubectl get gateway example-gateway-passthrough -o jsonpath='{.status.addresses[0].value}')
for _ in $(seq 30); do
  out=$( (sleep 1; echo) | openssl s_client -connect "$PROXY_IP:8899" -servername demo.example.com 2>/dev/null || true)
  case "$out" in *"Through TLS connection."*) break;; esac
  sleep 1
done
(sleep 1; echo) | openssl s_client -connect "$PROXY_IP:8899" -servername demo.example.com -CAfile "$work/server.crt"
