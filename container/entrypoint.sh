#!/bin/sh
# A fresh key and self-signed certificate per task, for the load balancer's TLS connection to the task
# (NLB TLS target groups encrypt without verifying targets). The root filesystem is read-only; /tmp is a
# task volume.
set -eu
mkdir -p /tmp/tls
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=secure-db-api-task" \
  -keyout "$SECURE_DB_API_TLS_KEY" -out "$SECURE_DB_API_TLS_CERT" 2>/dev/null
chmod 600 "$SECURE_DB_API_TLS_KEY"
exec node /app/index.js
