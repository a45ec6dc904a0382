#!/bin/sh
# One-shot setup job (temporalio/admin-tools image): wait for the Temporal frontend, then register
# Keel's search attributes. Idempotent: attributes that already exist are left alone.
set -eu
address="${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS must be set}"
namespace="${TEMPORAL_NAMESPACE:-default}"

attempt=0
until temporal operator cluster health --address "$address" >/dev/null 2>&1 \
  && temporal operator namespace describe --address "$address" --namespace "$namespace" >/dev/null 2>&1; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 120 ]; then
    echo "Temporal at $address (namespace $namespace) did not become ready" >&2
    exit 1
  fi
  sleep 2
done

existing="$(temporal operator search-attribute list --address "$address" --namespace "$namespace")"
for name in KeelModel KeelStage; do
  if printf '%s\n' "$existing" | grep -qw "$name"; then
    echo "search attribute $name already registered"
  else
    temporal operator search-attribute create --address "$address" --namespace "$namespace" \
      --name "$name" --type Keyword
    echo "search attribute $name registered"
  fi
done
