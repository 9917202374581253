#!/bin/sh
# gen-certs.sh DIR - test certificates for tests/test_tls.c, made fresh with the openssl CLI.
#   ca.crt/ca.key        test CA                 other-ca.crt  an unrelated CA ("wrong CA")
#   server.crt/.key      localhost, 127.0.0.1    server-enc.key  the same key, password "secret"
#   wronghost.crt/.key   wrong.example only      expired.crt/.key  localhost, expired in 2020
#   client.crt/.key      a client certificate (clientAuth) from ca
#   server.der, ca.der   DER copies (for the PEM/DER loading paths)
# EC P-256 keys: fast to make, supported by every mbedTLS and browser.
set -eu
D="${1:-build/tls}"
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
mkdir -p "$D"
cd "$D"
if command -v flock > /dev/null && [ -z "${GEN_CERTS_LOCKED:-}" ]; then   # one maker at a time
    GEN_CERTS_LOCKED=1 exec flock .lock "$SELF" .
fi
[ -f .done ] && [ -f expired.crt ] && exit 0
rm -rf ca-db && mkdir ca-db && : > ca-db/index.txt && echo 1000 > ca-db/serial

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ext() {   # ext FILE SAN EKU
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=%s\nsubjectAltName=%s\n' "$3" "$2" > "$1"
}

key ca.key
openssl req -x509 -new -key ca.key -days 3650 -subj "/CN=ws.h test CA" -out ca.crt \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
key other-ca.key
openssl req -x509 -new -key other-ca.key -days 3650 -subj "/CN=ws.h unrelated CA" -out other-ca.crt \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign

sign() {   # sign NAME CN SAN EKU
    key "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
    ext "$1.ext" "$3" "$4"
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
        -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
sign server localhost "DNS:localhost,IP:127.0.0.1" serverAuth
sign wronghost wrong.example "DNS:wrong.example" serverAuth
sign client "ws.h test client" "DNS:client.example" clientAuth

# Expired: openssl ca can set both dates (openssl x509 -req cannot before OpenSSL 3.4).
key expired.key
openssl req -new -key expired.key -subj "/CN=localhost" -out expired.csr
ext expired.ext "DNS:localhost,IP:127.0.0.1" serverAuth
cat > ca.cnf <<CNF
[ ca ]
default_ca = test
[ test ]
dir = .
database = ca-db/index.txt
serial = ca-db/serial
new_certs_dir = ca-db
certificate = ca.crt
private_key = ca.key
default_md = sha256
policy = any
unique_subject = no
[ any ]
commonName = supplied
CNF
openssl ca -batch -config ca.cnf -in expired.csr -out expired.crt -extfile expired.ext \
    -startdate 20190101000000Z -enddate 20200101000000Z -notext 2>/dev/null

# Encrypted key (traditional PEM, AES-128-CBC: readable by mbedTLS 2.28 and 3.x)
openssl ec -in server.key -aes128 -passout pass:secret -out server-enc.key 2>/dev/null ||
    openssl pkey -in server.key -traditional -aes128 -passout pass:secret -out server-enc.key
openssl x509 -in server.crt -outform DER -out server.der
openssl x509 -in ca.crt -outform DER -out ca.der
cat server.crt ca.crt > server-chain.crt
rm -f ./*.csr ./*.ext
touch .done
echo "gen-certs: test certificates in $(pwd)"
