#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 for the payment journal's tests.
#
#   scripts/postgres.sh start [--until-exit PID]
#       Installs PostgreSQL with apt-get when initdb/pg_ctl are missing, creates a cluster in a
#       new temporary directory (owned by `nobody` when run as root: PostgreSQL refuses to run as
#       root), trust authentication, TLS on with a CA made for it, listening on a free port of
#       127.0.0.1 only. Prints, for `eval "$(scripts/postgres.sh start)"`:
#         export DAJISAAS_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/postgres
#         export DAJISAAS_TEST_POSTGRES_CA=DIR/ca.pem
#         export DAJISAAS_TEST_POSTGRES_DIR=DIR
#       With --until-exit PID, the cluster stops and is removed by itself once PID has exited
#       (the Rust tests start it that way when DAJISAAS_TEST_POSTGRES_URL is unset).
#       With --durable, the server keeps PostgreSQL's durable defaults (fsync, synchronous_commit,
#       full_page_writes on); without it they are off, for speed.
#   scripts/postgres.sh restart [DIR] [--down SECONDS]
#       Stops the cluster in DIR at once (`-m immediate`, as a crash) and starts it again, after
#       SECONDS with the server down (default 0).
#   scripts/postgres.sh stop [DIR]
#       Stops the cluster in DIR (default: $DAJISAAS_TEST_POSTGRES_DIR) and removes DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "postgres.sh: $*" >&2; exit 1; }

find_bin() {
  local dir
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return 0
  fi
  # Debian keeps them out of PATH, one directory per major version: take the newest.
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
    echo "$dir"
    return 0
  fi
  return 1
}

install_postgres() {
  [ "$(id -u)" -eq 0 ] || die "PostgreSQL is not installed and installing it needs root (apt-get install postgresql)"
  command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not installed and there is no apt-get to install it"
  echo "postgres.sh: installing PostgreSQL with apt-get" >&2
  # No default cluster on port 5432: the tests make their own.
  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends postgresql >&2
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  local until_pid= fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  while [ $# -gt 0 ]; do
    case $1 in
      --until-exit) until_pid=${2:?--until-exit needs a pid}; shift 2 ;;
      --durable) fast=; shift ;;
      *) die "unknown option $1" ;;
    esac
  done
  local bin
  bin=$(find_bin) || { install_postgres; bin=$(find_bin) || die "no initdb/pg_ctl after installing PostgreSQL"; }

  local dir user=
  dir=$(mktemp -d "${TMPDIR:-/tmp}/dajisaas-pg.XXXXXX")
  if [ "$(id -u)" -eq 0 ]; then
    user=nobody
    chown "$user" "$dir"
  fi
  as_user() {
    if [ -n "$user" ]; then runuser -u "$user" -- "$@"; else "$@"; fi
  }

  as_user "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-locale \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"; }

  # TLS with a CA of its own, so that the tests can check verified connections.
  local tls_opts=
  if command -v openssl >/dev/null 2>&1; then
    (
      cd "$dir"
      openssl req -x509 -newkey rsa:2048 -nodes -days 3 -subj "/CN=dajisaas test CA" \
        -keyout ca.key -out ca.pem >/dev/null 2>&1
      openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout server.key -out server.csr >/dev/null 2>&1
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' > server.ext
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3 \
        -extfile server.ext -out server.crt >/dev/null 2>&1
      chmod 600 server.key
      [ -z "$user" ] || chown "$user" server.key server.crt
    ) && tls_opts="-c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key"
  fi

  local port started=
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    if as_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o \
      "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir \
       $fast -c max_connections=300 $tls_opts" \
      start >/dev/null 2>&1; then
      started=1
      break
    fi
  done
  if [ -z "$started" ]; then
    cat "$dir/server.log" >&2 2>/dev/null || true
    rm -rf "$dir"
    die "the PostgreSQL server did not start"
  fi

  if [ -n "$until_pid" ]; then
    # Detached, with no inherited output, so that whoever reads this script's output sees EOF.
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" stop "$3"' \
      _ "$until_pid" "$here/postgres.sh" "$dir" </dev/null >/dev/null 2>&1 &
  fi

  echo "export DAJISAAS_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres"
  [ -z "$tls_opts" ] || echo "export DAJISAAS_TEST_POSTGRES_CA=$dir/ca.pem"
  echo "export DAJISAAS_TEST_POSTGRES_DIR=$dir"
}

# Runs pg_ctl for the cluster in DIR as the user that owns its data (root cannot run it).
pg_ctl_as_owner() {
  local dir=$1 bin user=; shift
  bin=$(find_bin) || die "no pg_ctl for $dir"
  [ "$(id -u)" -eq 0 ] && user=$(stat -c %U "$dir/data")
  if [ -n "$user" ] && [ "$user" != root ]; then
    runuser -u "$user" -- "$bin/pg_ctl" -D "$dir/data" "$@"
  else
    "$bin/pg_ctl" -D "$dir/data" "$@"
  fi
}

stop() {
  local dir=${1:-${DAJISAAS_TEST_POSTGRES_DIR:-}}
  [ -n "$dir" ] || die "stop: which cluster? (give its directory or set DAJISAAS_TEST_POSTGRES_DIR)"
  [ -d "$dir/data" ] || { rm -rf "$dir"; return 0; }
  pg_ctl_as_owner "$dir" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

restart() {
  local dir= down=0
  while [ $# -gt 0 ]; do
    case $1 in
      --down) down=${2:?--down needs a number of seconds}; shift 2 ;;
      -*) die "unknown option $1" ;;
      *) dir=$1; shift ;;
    esac
  done
  dir=${dir:-${DAJISAAS_TEST_POSTGRES_DIR:-}}
  [ -d "$dir/data" ] || die "restart: no cluster in ${dir:-(none given)}"
  if [ "$down" != 0 ]; then
    pg_ctl_as_owner "$dir" -m immediate -w stop >/dev/null
    sleep "$down"
  fi
  # pg_ctl restart starts it again with the options it was started with (postmaster.opts), the
  # server running or not (its "trying to start server anyway" is noise, the server's log is not).
  pg_ctl_as_owner "$dir" -l "$dir/server.log" -m immediate -w -t 60 restart >/dev/null 2>&1 ||
    { tail -n 20 "$dir/server.log" >&2; die "restart: the server in $dir did not start again"; }
}

case ${1:-} in
  start) shift; start "$@" ;;
  restart) shift; restart "$@" ;;
  stop) shift; stop "$@" ;;
  *) die "usage: scripts/postgres.sh start [--durable] [--until-exit PID] | restart [DIR] [--down SECONDS] | stop [DIR]" ;;
esac
