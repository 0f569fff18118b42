#!/bin/sh
# Makes a throw-away PKI for tests: make_pki.sh DIR CA NAME...
#   DIR/CA.pem, DIR/CA.key            a self-signed CA
#   DIR/NAME.pem, DIR/NAME.key        for each NAME, a certificate signed by CA, valid for
#                                     127.0.0.1 and localhost (server and client use)
# P-256 keys, valid for two days. Needs the openssl command (Debian package openssl).
set -eu
dir=$1
ca=$2
shift 2
mkdir -p "$dir"
cd "$dir"
if [ ! -f "$ca.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$ca.key" -out "$ca.pem" -days 2 -subj "/CN=$ca" 2>/dev/null
fi
for name in "$@"; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$name.key" -out "$name.csr" -subj "/CN=$name" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' \
    > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial \
    -out "$name.pem" -days 2 -extfile "$name.ext" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
done
