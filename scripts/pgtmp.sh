#!/usr/bin/env bash
#
# pgtmp.sh: a throwaway PostgreSQL server for tests and local runs.
#
#   scripts/pgtmp.sh start DIR   initdb into DIR, start a server on 127.0.0.1
#                                and a free port, create database rumstream;
#                                prints the libpq DSN (also in DIR/dsn)
#   scripts/pgtmp.sh stop DIR    stop that server and remove DIR
#
# The server is tuned for speed, not durability (fsync off), and trusts every
# local connection: never point it at data you want to keep. It refuses to
# run as root, so as root the server runs as the `postgres` user.
#
# Layout of DIR: data/ (the cluster), log (initdb and server log), dsn, the
# unix socket, and .pgtmp, a marker that lets `stop` check that it removes a
# directory made by `start`.

set -euo pipefail

prog=pgtmp.sh
ready_timeout_s=60

die() {
        echo "$prog: $*" >&2
        exit 1
}

usage() {
        echo "usage: $prog start DIR | stop DIR" >&2
        exit 2
}

# pg_config may belong to the client packages only (Debian), so check that
# its bindir really holds the server before trusting it.
find_bindir() {
        local d
        if command -v pg_config >/dev/null 2>&1; then
                d=$(pg_config --bindir 2>/dev/null || true)
                if [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]]; then
                        echo "$d"
                        return 0
                fi
        fi
        d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 ||
                true)
        if [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]]; then
                echo "$d"
                return 0
        fi
        if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
                dirname "$(command -v initdb)"
                return 0
        fi
        die "no PostgreSQL server binaries found (tried pg_config --bindir," \
                "/usr/lib/postgresql/*/bin and PATH); install postgresql"
}

# Runs a command as the server's owner: `postgres` when we are root.
as_owner() {
        if [[ $(id -u) -eq 0 ]]; then
                runuser -u postgres -- "$@"
        else
                "$@"
        fi
}

# A port nobody listens on now. Another process may still take it before the
# server binds, so start() retries with another port when binding fails.
port_in_use() {
        local port=$1
        if command -v ss >/dev/null 2>&1; then
                [[ -n $(ss -Htan "sport = :$port" 2>/dev/null) ]]
        else
                (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
        fi
}

pick_port() {
        local base port i
        base=$((20000 + (RANDOM * 32768 + RANDOM) % 30000))
        for ((i = 0; i < 200; i++)); do
                port=$((base + i * 7))
                if ((port > 60999)); then
                        port=$((20000 + port % 60999))
                fi
                if ! port_in_use "$port"; then
                        echo "$port"
                        return 0
                fi
        done
        die "no free TCP port found on 127.0.0.1"
}

log_tail() {
        if [[ -f $dir/log ]]; then
                echo "$prog: last lines of $dir/log:" >&2
                tail -n 20 "$dir/log" >&2 || true
        fi
}

cmd_start() {
        local bindir port attempt dsn deadline logsize newlog

        if [[ -e $dir && ! -d $dir ]]; then
                die "$dir exists and is not a directory"
        fi
        if [[ -d $dir && -n $(ls -A "$dir") ]]; then
                die "$dir is not empty"
        fi
        case $dir in
        *"'"* | *'"'* | *' '*)
                die "$dir: quotes and spaces are not supported in DIR" ;;
        esac
        bindir=$(find_bindir)

        mkdir -p "$dir"
        dir=$(cd "$dir" && pwd -P)
        # The unix socket path must fit in sun_path (108 bytes).
        if ((${#dir} + 20 > 107)); then
                die "$dir: path too long for a unix socket directory"
        fi
        if [[ $(id -u) -eq 0 ]]; then
                id postgres >/dev/null 2>&1 ||
                        die "running as root needs a 'postgres' user to own the server"
                command -v runuser >/dev/null 2>&1 ||
                        die "running as root needs runuser (util-linux)"
                chown postgres: "$dir"
                chmod 700 "$dir"
        fi
        as_owner test -w "$dir" ||
                die "$dir is not writable by $(as_owner id -un) (is a parent directory private?)"
        # From here on `stop` may remove DIR: it is ours.
        as_owner touch "$dir/.pgtmp" "$dir/log"
        # The server's owner may not be allowed into our working directory.
        cd "$dir"

        if ! as_owner env LC_ALL=C "$bindir/initdb" -D "$dir/data" -U postgres \
                --auth=trust --encoding=UTF8 --no-locale --no-sync \
                >>"$dir/log" 2>&1; then
                log_tail
                die "initdb failed"
        fi
        as_owner sh -c "echo \"include 'pgtmp.conf'\" >> '$dir/data/postgresql.conf'"

        for ((attempt = 1; attempt <= 5; attempt++)); do
                port=$(pick_port)
                as_owner tee "$dir/data/pgtmp.conf" >/dev/null <<EOF
# written by pgtmp.sh
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
EOF
                # pg_ctl -w notices a server that exits during start-up
                # (e.g. the port was taken meanwhile) without waiting out the
                # timeout.
                logsize=$(stat -c %s "$dir/log")
                if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" \
                        -w -t "$ready_timeout_s" start >>"$dir/log" 2>&1; then
                        break
                fi
                newlog=$(tail -c "+$((logsize + 1))" "$dir/log")
                if ((attempt < 5)) && [[ $newlog == *"could not bind"* ||
                        $newlog == *"could not create any TCP/IP"* ]]; then
                        echo "$prog: port $port was taken, trying another" >&2
                        continue
                fi
                log_tail
                die "the server did not start"
        done

        deadline=$((SECONDS + ready_timeout_s))
        until "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres \
                -d postgres; do
                if ((SECONDS >= deadline)); then
                        log_tail
                        die "the server is not ready after ${ready_timeout_s} s"
                fi
                sleep 0.05
        done

        if ! "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres \
                rumstream >>"$dir/log" 2>&1; then
                log_tail
                die "createdb rumstream failed"
        fi

        dsn="host=127.0.0.1 port=$port dbname=rumstream user=postgres"
        as_owner sh -c "echo '$dsn' > '$dir/dsn'"
        echo "$dsn"
}

cmd_stop() {
        local bindir pid

        [[ -d $dir ]] || die "$dir: no such directory"
        dir=$(cd "$dir" && pwd -P)
        # Refuse to remove a directory that start did not make.
        if [[ ! -e $dir/.pgtmp ]]; then
                if [[ -z $(ls -A "$dir") ]]; then
                        rmdir "$dir"
                        return 0
                fi
                die "$dir was not made by '$prog start' (no .pgtmp marker); not removing it"
        fi
        cd /

        if [[ -f $dir/data/postmaster.pid ]]; then
                bindir=$(find_bindir)
                if ! as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w \
                        -t 30 stop >>"$dir/log" 2>&1; then
                        echo "$prog: fast shutdown failed, trying immediate" >&2
                        if ! as_owner "$bindir/pg_ctl" -D "$dir/data" \
                                -m immediate -w -t 30 stop >>"$dir/log" 2>&1; then
                                pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
                                if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
                                        echo "$prog: killing postmaster $pid" >&2
                                        kill -KILL "$pid" || true
                                fi
                        fi
                fi
        fi
        rm -rf -- "$dir"
}

[[ $# -eq 2 ]] || usage
dir=$2
[[ -n $dir ]] || usage
case $1 in
start) cmd_start ;;
stop) cmd_stop ;;
*) usage ;;
esac
