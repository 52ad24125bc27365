#!/usr/bin/env bash
# pki.sh DIR: a throwaway user CA, the edge's serving certificate (*.users.kubegate.invalid)
# and client certificates with URI SAN kubegate://user/<name> for the three real users.
set -eu
D=$1; mkdir -p "$D"; cd "$D"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -keyout ca.key -out ca.crt -subj "/CN=kubegate experiment CA" 2>/dev/null
leaf() { # leaf NAME SAN EKU
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$2" "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
leaf server 'DNS:*.users.kubegate.invalid' serverAuth
for u in user-91 user-165 user-0; do leaf "$u" "URI:kubegate://user/$u" clientAuth; done
