# Sourced by scripts/lib.sh: a throw-away OpenLDAP slapd for the LDAP directory's tests.
# It runs as the current user from a directory of its own (config, database, certificates),
# listens on 127.0.0.1 only, and is seeded from tests/ldap/seed.ldif.

LDAP_SUFFIX="dc=example,dc=org"
LDAP_SERVICE_DN="cn=direct-oauth,ou=services,$LDAP_SUFFIX"

# ldap_tools_present: the server and the client tools the tests use are all installed.
ldap_tools_present() {
  local tool
  for tool in /usr/sbin/slapd /usr/sbin/slapadd; do [ -x "$tool" ] || return 1; done
  for tool in ldapsearch ldapadd ldapwhoami; do command -v "$tool" >/dev/null || return 1; done
}

# ensure_slapd: install Debian's slapd and ldap-utils when missing. Nothing of the package's
# own config is used afterwards; a slapd that its postinst may have started is stopped.
ensure_slapd() {
  ldap_tools_present && return 0
  local apt_log="${TMPDIR:-/tmp}/direct-oauth-apt-slapd.log"
  log "installing slapd and ldap-utils (apt-get; log in $apt_log)"
  apt-get update >"$apt_log" 2>&1 || die "apt-get update failed; see $apt_log"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slapd ldap-utils \
    >>"$apt_log" 2>&1 || die "apt-get install slapd ldap-utils failed; see $apt_log"
  stop_system_slapd
  ldap_tools_present || die "slapd or ldap-utils still missing after the install; see $apt_log"
}

# stop_system_slapd: the init script's slapd (started by the package without a policy-rc.d
# that forbids it) listens on port 389 as the openldap user; the tests never use it.
stop_system_slapd() {
  local pidfile=/run/slapd/slapd.pid pid
  [ -s "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  kill -0 "$pid" 2>/dev/null || return 0
  log "stopping the slapd that the package started (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
}

# ldap_certs DIR: a CA (DIR/ca.pem, the one clients trust) and a server certificate for
# 127.0.0.1 and localhost signed by it, both made afresh for this run.
ldap_certs() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=direct-oauth test CA" \
    -keyout "$1/ca.key" -out "$1/ca.pem" >/dev/null 2>&1 || die "openssl: the CA failed"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$1/server.key" -out "$1/server.csr" >/dev/null 2>&1 || die "openssl: the CSR failed"
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
    "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$1/server.ext"
  openssl x509 -req -in "$1/server.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" -CAcreateserial \
    -days 7 -extfile "$1/server.ext" -out "$1/server.pem" >/dev/null 2>&1 \
    || die "openssl: the server certificate failed"
}

# ldap_conf DIR: DIR/slapd.conf. Anyone may bind (auth on userPassword, never read); the
# service account and each user for their own entry may read; anonymous sees no entry.
# cn=admin (rootdn, password admin-secret) may write, for tests that change the directory.
ldap_conf() {
  cat >"$1/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
# Password policies (its schema is built in since 2.5): the seed's lockout policy, and the
# administrator's lock (pwdAccountLockedTime) that user sync reads.
moduleload ppolicy
pidfile $1/slapd.pid
argsfile $1/slapd.args
TLSCACertificateFile $1/ca.pem
TLSCertificateFile $1/server.pem
TLSCertificateKeyFile $1/server.key
access to dn.base="" by * read
access to dn.base="cn=Subschema" by * read

database mdb
suffix "$LDAP_SUFFIX"
rootdn "cn=admin,$LDAP_SUFFIX"
rootpw admin-secret
directory $1/db
index objectClass,uid,mail,member,cn eq
overlay ppolicy
ppolicy_use_lockout
access to attrs=userPassword by * auth
access to * by dn.exact="$LDAP_SERVICE_DN" read by self read by * auth
EOF
}

# start_slapd PORT TLS_PORT DIR LOGFILE: a seeded slapd on ldap://127.0.0.1:PORT (StartTLS
# too) and ldaps://127.0.0.1:TLS_PORT; returns once it answers a search.
start_slapd() {
  local port="$1" tls_port="$2" dir="$3" logfile="$4" i
  port_free "$port" || die "port $port is in use (another slapd? set LDAP_PORT)"
  port_free "$tls_port" || die "port $tls_port is in use (set LDAPS_PORT)"
  mkdir -p "$dir"
  rm -rf "$dir/db" && mkdir "$dir/db"
  ldap_certs "$dir"
  ldap_conf "$dir"
  /usr/sbin/slapadd -q -f "$dir/slapd.conf" -l "$ROOT/tests/ldap/seed.ldif" >"$logfile" 2>&1 \
    || die "slapadd of tests/ldap/seed.ldif failed; see $logfile"
  log "slapd on 127.0.0.1:$port (ldaps $tls_port)"
  # -d keeps slapd in the foreground, so its pid is ours to record and to stop; "none"
  # still logs errors (-d 0 would log nothing).
  setsid /usr/sbin/slapd -d none -f "$dir/slapd.conf" \
    -h "ldap://127.0.0.1:$port/ ldaps://127.0.0.1:$tls_port/" >>"$logfile" 2>&1 &
  PIDS+=($!)
  export LDAP_PID=$!
  export LDAP_URL="ldap://127.0.0.1:$port" LDAPS_URL="ldaps://127.0.0.1:$tls_port"
  export LDAP_CA_FILE="$dir/ca.pem"
  for i in $(seq 1 200); do
    ldapsearch -x -H "$LDAP_URL" -b "" -s base namingContexts >/dev/null 2>&1 && return 0
    kill -0 "$LDAP_PID" 2>/dev/null || break
    sleep 0.1
  done
  die "slapd did not answer on $LDAP_URL; see $logfile"
}

# use_ldap_directory: point the function at the slapd start_slapd started, as an operator's
# stack would be: the service account's password in an SSM SecureString (in moto), the
# seed's bases, members of quay-admins as superusers.
use_ldap_directory() {
  export DIRECT_OAUTH_DIRECTORY=ldap DIRECT_OAUTH_LDAP_URL="$LDAP_URL"
  # The test slapd listens on loopback only: plain LDAP, said so out loud.
  export DIRECT_OAUTH_LDAP_ALLOW_PLAINTEXT=true
  export DIRECT_OAUTH_LDAP_BIND_DN="$LDAP_SERVICE_DN"
  export DIRECT_OAUTH_LDAP_BIND_PASSWORD_PARAMETER=/direct-oauth/ldap-bind-password
  export DIRECT_OAUTH_LDAP_USER_BASE="ou=people,$LDAP_SUFFIX"
  export DIRECT_OAUTH_LDAP_GROUP_BASE="ou=groups,$LDAP_SUFFIX"
  export DIRECT_OAUTH_SUPERUSER_GROUP=quay-admins
  python - <<'PY' || die "cannot write the LDAP bind password's parameter to moto"
import boto3, os
boto3.client("ssm").put_parameter(Name=os.environ["DIRECT_OAUTH_LDAP_BIND_PASSWORD_PARAMETER"],
                                  Value="service-secret", Type="SecureString", Overwrite=True)
PY
}
