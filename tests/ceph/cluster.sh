#!/usr/bin/env bash
# tests/ceph/cluster.sh - a throwaway single-node Ceph cluster with radosgw
# (S3) for the object-store tests, from Debian 12's own packages.
#
#   tests/ceph/cluster.sh up DIR         bring a cluster up in DIR (new or
#                                        empty), print DIR/env on stdout
#   tests/ceph/cluster.sh down DIR       stop its daemons by pid, keep DIR
#   tests/ceph/cluster.sh env DIR        print DIR/env
#   tests/ceph/cluster.sh stop-rgw DIR   stop radosgw only (tests of an
#                                        unreachable store)
#   tests/ceph/cluster.sh start-rgw DIR  start radosgw again, wait for it
#
# The cluster: one ceph-mon, one ceph-osd on memstore (data in RAM, at
# most VF_CEPH_MEMSTORE_BYTES, 2 GiB by default), no mgr, one radosgw
# (beast) serving HTTPS with a throwaway CA (DIR/ca.pem; certificate for
# IP 127.0.0.1, so clients keep verification on) and plain HTTP on a
# second port.  cephx everywhere; every socket on 127.0.0.1.  Ports: a
# random free block of 50 (or VF_CEPH_PORT_BASE): base mon v2, +1 mon v1,
# +2 radosgw HTTPS, +3 radosgw HTTP, +10..+49 the OSD.  Two clusters in two
# directories coexist.
#
# Everything lives in DIR: ceph.conf, keyrings, mon and osd data, logs
# (DIR/log), the pids of the daemons (DIR/pids, "name pid"), the S3 user's
# key pair in DIR/credentials (AWS shared-credentials format, profile
# "default", mode 0600), DIR/env (shell-sourceable VF_S3_* variables) and
# DIR/times (measured bring-up and teardown seconds).  Nothing is written
# to /etc/ceph, /var/lib/ceph or /var/log/ceph.  The ceph CLI is pointed at
# DIR/ceph.conf explicitly; CEPH_KEYRING is never exported (librados would
# apply it to every client id: docs/remote-store.md).
#
# Daemons are stopped only by their recorded pid, after checking that the
# pid's command line still names DIR/ceph.conf, in stages (radosgw, osd,
# mon: radosgw needs RADOS to shut down, the osd waits for the mon's ack);
# SIGKILL after 15 s.  Needs root.  Exit status 0, or 1 with the tail of
# the failing daemon's log on stderr.
set -euo pipefail

die() {
	echo "cluster.sh: $*" >&2
	exit 1
}
usage() {
	echo "usage: tests/ceph/cluster.sh up|down|env|stop-rgw|start-rgw DIR" >&2
	exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
DIR=$2
case $cmd in up | down | env | stop-rgw | start-rgw) ;; *) usage ;; esac
case $DIR in /*) ;; *) DIR=$PWD/$DIR ;; esac
CONF=$DIR/ceph.conf
last_pid=
export LC_ALL=C
unset CEPH_KEYRING CEPH_CONF CEPH_ARGS

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

ceph_cli() {
	timeout 30 ceph -c "$CONF" --connect-timeout 10 "$@"
}

# pid_alive PID: running and not a zombie (a daemon left by an earlier `up`
# process is reparented and may stay a zombie for a while).
pid_alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# ours PID: the process is one of this cluster's daemons (its command line
# names this DIR's ceph.conf), so a recycled pid is never signalled.
ours() {
	pid_alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$CONF"
}

log_tail() {
	local f
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "--- tail of $f ---" >&2
		tail -n 25 "$f" >&2
	done
}

# stop_stage NAME...: SIGTERM the recorded daemons of those names, wait up
# to 15 s, then SIGKILL what is left; drop them from DIR/pids.
stop_stage() {
	local name pid pids=() i
	[ -f "$DIR/pids" ] || return 0
	while read -r name pid; do
		for i in "$@"; do
			[ "$name" = "$i" ] || continue
			if ours "$pid"; then
				kill -TERM "$pid" 2>/dev/null || true
				pids+=("$pid")
			fi
		done
	done <"$DIR/pids"
	local deadline=$((SECONDS + 15)) left
	while [ "$SECONDS" -lt "$deadline" ]; do
		left=0
		for pid in "${pids[@]}"; do
			pid_alive "$pid" && left=1
		done
		[ "$left" = 0 ] && break
		sleep 0.1
	done
	for pid in "${pids[@]}"; do
		if ours "$pid"; then
			echo "cluster.sh: pid $pid did not stop in 15 s, SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	local keep
	keep=$(awk -v names=" $* " 'index(names, " " $1 " ") == 0' "$DIR/pids")
	printf '%s\n' "$keep" | sed '/^$/d' >"$DIR/pids.new"
	mv "$DIR/pids.new" "$DIR/pids"
}

down() {
	local t0
	t0=$(now)
	stop_stage rgw
	stop_stage osd
	stop_stage mon
	echo "teardown_s $(elapsed "$t0")" >>"$DIR/times"
}

# start NAME COMMAND...: run a daemon in the foreground mode, in the
# background, output to DIR/log/NAME.out, pid recorded.
start() {
	local name=$1
	shift
	"$@" </dev/null >>"$DIR/log/$name.out" 2>&1 &
	last_pid=$!
	echo "$name $last_pid" >>"$DIR/pids"
}

# wait_for WHAT SECONDS LOG COMMAND...: poll COMMAND every 0.2 s until it
# succeeds; when SECONDS of wall time pass or the daemon just started
# ($last_pid) dies, print the log tail, stop everything and fail.
wait_for() {
	local what=$1 secs=$2 logf=$3 deadline
	shift 3
	deadline=$((SECONDS + secs))
	while [ "$SECONDS" -lt "$deadline" ]; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		if ! pid_alive "$last_pid"; then
			echo "cluster.sh: $what exited during start-up" >&2
			break
		fi
		sleep 0.2
	done
	[ "$SECONDS" -lt "$deadline" ] || echo "cluster.sh: $what not ready after ${secs}s" >&2
	log_tail "$logf" "${logf%.log}.out"
	down
	exit 1
}

port_free() {
	[ -z "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]
}

pick_ports() {
	local base tries p ok lo
	if [ -n "${VF_CEPH_PORT_BASE:-}" ]; then
		BASE=$VF_CEPH_PORT_BASE
		case $BASE in '' | *[!0-9]*) die "VF_CEPH_PORT_BASE='$BASE' is not a port" ;; esac
		if [ "$BASE" -lt 1024 ] || [ "$BASE" -gt 65485 ]; then
			die "VF_CEPH_PORT_BASE=$BASE is out of range"
		fi
		for ((p = BASE; p < BASE + 50; p++)); do
			port_free "$p" || die "port $p (VF_CEPH_PORT_BASE=$BASE) is in use"
		done
		return
	fi
	# Below the kernel's ephemeral range (ip_local_port_range, 32768
	# and up here): a port picked there can be taken by any outgoing
	# connection (the cluster's own) before the daemon binds it.
	lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	[ "$lo" -gt 20100 ] 2>/dev/null || lo=32768
	for ((tries = 0; tries < 50; tries++)); do
		base=$((20000 + (RANDOM % ((lo - 20000) / 50 - 1)) * 50))
		ok=1
		for ((p = base; p < base + 50; p++)); do
			port_free "$p" || {
				ok=0
				break
			}
		done
		if [ "$ok" = 1 ]; then
			BASE=$base
			return
		fi
	done
	die "no free block of 50 ports found"
}

rgw_https() { echo "https://127.0.0.1:$((BASE + 2))"; }
rgw_http() { echo "http://127.0.0.1:$((BASE + 3))"; }

rgw_ready() {
	curl -sS -o /dev/null --max-time 3 --cacert "$DIR/ca.pem" "$(rgw_https)/" &&
		curl -sS -o /dev/null --max-time 3 "$(rgw_http)/"
}

start_rgw() {
	start rgw radosgw -c "$CONF" -n client.rgw.r -f
	wait_for "radosgw" 60 "$DIR/log/client.rgw.r.log" rgw_ready
}

# 90 days, as public certificates go: a test that moves the host's clock
# by weeks (0044) then meets the store's own refusal of a skewed request,
# whose Date is the vault clock's second opinion, not an expired
# certificate.
make_certs() {
	local d=$DIR/tls
	mkdir -m 0700 "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/ca.key" -out "$DIR/ca.pem" -days 90 \
		-subj "/CN=vaultfs test CA $(basename "$DIR")" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/rgw.key" -out "$d/rgw.csr" -subj /CN=127.0.0.1 2>/dev/null
	printf '%s\n' 'subjectAltName=IP:127.0.0.1' 'basicConstraints=CA:FALSE' \
		'keyUsage=critical,digitalSignature,keyEncipherment' \
		'extendedKeyUsage=serverAuth' >"$d/ext"
	openssl x509 -req -in "$d/rgw.csr" -CA "$DIR/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -out "$d/rgw.crt" -days 90 -extfile "$d/ext" 2>/dev/null
	# The CA key is not needed again: nobody can sign another certificate
	# this CA vouches for.
	rm -f "$d/ca.key" "$d/rgw.csr" "$d/ext" "$DIR/ca.srl" "$d/ca.srl"
}

write_conf() {
	local fsid=$1
	cat >"$CONF" <<EOF
# Written by tests/ceph/cluster.sh; everything stays in $DIR.
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$BASE,v1:127.0.0.1:$((BASE + 1))]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_port_min = $((BASE + 10))
ms_bind_port_max = $((BASE + 49))
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
auth_allow_insecure_global_id_reclaim = false
osd_crush_chooseleaf_type = 0
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_data_avail_crit = 1
run_dir = $DIR/run
crash_dir = $DIR/crash
log_file = $DIR/log/\$name.log
admin_socket = $DIR/run/\$name.asok
log_to_stderr = false
err_to_stderr = false

[mon]
mon_data = $DIR/mon.\$id
keyring = $DIR/mon.keyring

[osd]
osd_data = $DIR/osd.\$id
keyring = $DIR/osd.\$id/keyring
osd_objectstore = memstore
memstore_device_bytes = ${VF_CEPH_MEMSTORE_BYTES:-2147483648}

[client]
log_file = $DIR/log/\$name.\$pid.log

[client.admin]
keyring = $DIR/admin.keyring

[client.rgw.r]
keyring = $DIR/rgw.keyring
log_file = $DIR/log/client.rgw.r.log
rgw_data = $DIR/rgw
rgw_frontends = beast ssl_endpoint=127.0.0.1:$((BASE + 2)) ssl_certificate=$DIR/tls/rgw.crt ssl_private_key=$DIR/tls/rgw.key endpoint=127.0.0.1:$((BASE + 3))
rgw_enable_usage_log = false
EOF
}

# A random string of N characters from SET.
rand_str() {
	local s
	s=$(head -c 4096 /dev/urandom | LC_ALL=C tr -dc "$2")
	[ ${#s} -ge "$1" ] || die "not enough random characters"
	printf '%s' "${s:0:$1}"
}

write_env() {
	{
		printf 'VF_CEPH_DIR=%q\n' "$DIR"
		printf 'VF_CEPH_CONF=%q\n' "$CONF"
		printf 'VF_CEPH_PORT_BASE=%q\n' "$BASE"
		printf 'VF_S3_ENDPOINT=%q\n' "$(rgw_https)"
		printf 'VF_S3_HTTP_ENDPOINT=%q\n' "$(rgw_http)"
		printf 'VF_S3_CA=%q\n' "$DIR/ca.pem"
		printf 'VF_S3_CREDENTIALS=%q\n' "$DIR/credentials"
		printf 'VF_S3_PROFILE=default\n'
		printf 'VF_S3_REGION=us-east-1\n'
		printf 'export VF_CEPH_DIR VF_CEPH_CONF VF_CEPH_PORT_BASE VF_S3_ENDPOINT VF_S3_HTTP_ENDPOINT VF_S3_CA VF_S3_CREDENTIALS VF_S3_PROFILE VF_S3_REGION\n'
	} >"$DIR/env.new"
	mv "$DIR/env.new" "$DIR/env"
}

up_failed() {
	local rc=$?
	if [ "$rc" != 0 ]; then
		echo "cluster.sh: bring-up failed" >&2
		down
	fi
	exit "$rc"
}

up() {
	local t0 fsid uuid secret id ak sk
	t0=$(now)
	[ "$(id -u)" = 0 ] || die "needs root"
	for c in ceph-mon ceph-osd ceph ceph-authtool monmaptool radosgw radosgw-admin openssl curl ss uuidgen; do
		command -v "$c" >/dev/null || die "$c is not installed (./demo.sh --deps-only)"
	done
	if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR")" ]; then
		die "$DIR is not empty"
	fi
	mkdir -p "$DIR"
	chmod 0700 "$DIR"
	mkdir -m 0700 "$DIR/log" "$DIR/run" "$DIR/crash" "$DIR/rgw"
	: >"$DIR/pids"
	# Whatever step fails, the daemons started so far are stopped.
	trap up_failed EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	pick_ports
	fsid=$(uuidgen)
	make_certs
	write_conf "$fsid"

	# mon and admin keys, monmap, mon store.
	ceph-authtool --create-keyring "$DIR/mon.keyring" --gen-key -n mon. \
		--cap mon 'allow *' >/dev/null
	ceph-authtool --create-keyring "$DIR/admin.keyring" --gen-key -n client.admin \
		--cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' \
		--cap mds 'allow *' >/dev/null
	ceph-authtool "$DIR/mon.keyring" --import-keyring "$DIR/admin.keyring" >/dev/null
	monmaptool --create --fsid "$fsid" \
		--addv a "[v2:127.0.0.1:$BASE,v1:127.0.0.1:$((BASE + 1))]" \
		"$DIR/monmap" >/dev/null
	ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" \
		--keyring "$DIR/mon.keyring" >>"$DIR/log/mon.a.out" 2>&1 ||
		{
			log_tail "$DIR/log/mon.a.out" "$DIR/log/mon.a.log"
			die "ceph-mon --mkfs failed"
		}
	start mon ceph-mon -c "$CONF" -i a -f
	wait_for "ceph-mon" 30 "$DIR/log/mon.a.log" ceph_cli mon stat
	echo "mon_up_s $(elapsed "$t0")" >"$DIR/times"

	# One OSD on memstore.
	uuid=$(uuidgen)
	secret=$(ceph-authtool --gen-print-key)
	id=$(printf '{"cephx_secret": "%s"}' "$secret" | ceph_cli osd new "$uuid" -i -)
	[ "$id" = 0 ] || die "ceph osd new gave id '$id'"
	mkdir -m 0700 "$DIR/osd.0"
	ceph-authtool --create-keyring "$DIR/osd.0/keyring" --name osd.0 \
		--add-key "$secret" >/dev/null
	ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$uuid" >>"$DIR/log/osd.0.out" 2>&1 ||
		{
			log_tail "$DIR/log/osd.0.out" "$DIR/log/osd.0.log"
			down
			die "ceph-osd --mkfs failed"
		}
	start osd ceph-osd -c "$CONF" -i 0 -f
	osd_up() { ceph_cli osd stat | grep -q ' 1 up'; }
	wait_for "ceph-osd" 60 "$DIR/log/osd.0.log" osd_up
	echo "osd_up_s $(elapsed "$t0")" >>"$DIR/times"

	# radosgw: its own key; it creates its pools itself.
	ceph_cli auth get-or-create client.rgw.r mon 'allow rw' osd 'allow rwx' \
		-o "$DIR/rgw.keyring" >/dev/null
	start_rgw
	echo "rgw_up_s $(elapsed "$t0")" >>"$DIR/times"

	# The S3 user and its key pair (the secret is never printed).
	ak=VF$(rand_str 18 'A-Z0-9')
	sk=$(rand_str 40 'A-Za-z0-9')
	timeout 60 radosgw-admin -c "$CONF" -n client.admin user create --uid=vaultfs \
		--display-name=vaultfs --access-key="$ak" --secret-key="$sk" \
		>/dev/null 2>>"$DIR/log/radosgw-admin.out" ||
		{
			log_tail "$DIR/log/radosgw-admin.out"
			down
			die "radosgw-admin user create failed"
		}
	(
		umask 077
		printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
			"$ak" "$sk" >"$DIR/credentials"
	)
	chmod 0600 "$DIR/credentials"
	write_env
	echo "bringup_s $(elapsed "$t0")" >>"$DIR/times"
	trap - EXIT
	cat "$DIR/env"
}

case $cmd in
up) up ;;
down)
	[ -f "$DIR/pids" ] || die "$DIR has no pids file"
	down
	;;
env)
	[ -f "$DIR/env" ] || die "$DIR has no env file"
	cat "$DIR/env"
	;;
stop-rgw)
	[ -f "$DIR/pids" ] || die "$DIR has no pids file"
	stop_stage rgw
	;;
start-rgw)
	[ -f "$DIR/env" ] || die "$DIR has no env file"
	BASE=$(sed -n 's/^VF_CEPH_PORT_BASE=//p' "$DIR/env")
	if grep -q '^rgw ' "$DIR/pids"; then
		pid=$(awk '$1 == "rgw" { print $2 }' "$DIR/pids" | tail -n 1)
		ours "$pid" && die "radosgw is running (pid $pid)"
		stop_stage rgw
	fi
	start_rgw
	;;
esac
