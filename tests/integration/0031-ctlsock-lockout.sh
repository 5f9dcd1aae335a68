#!/usr/bin/env bash
# 0031-ctlsock-lockout: local users with no role cannot lock vaultctl out
# of the daemon's control socket (issue 11 item 11).  Seven uids with no
# role each try to hold four idle connections: each gets at most two
# (VF_CTLSOCK_CONN_PER_UID), all of them together leave slots for root,
# the rest are refused at once with one line; root's `vaultctl status`
# still answers within a second or two while they hold theirs; every idle
# connection, and one that dribbles its request a byte at a time, is
# dropped about 5 s (VF_CTLSOCK_REQ_DEADLINE_S) after it connected.  A
# socket that takes connections but never answers makes vaultctl say so
# in one line within its timeout (VAULTCTL_TIMEOUT) instead of hanging.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

chmod 0711 "$VF_TMP" # other uids reach the mount below
vf_init
vf_mount
SOCK=/run/vaultfs/$("$PYTHON" -c '
import hashlib, os, sys
print(hashlib.blake2b(os.path.realpath(sys.argv[1]).encode(), digest_size=16).hexdigest())
' "$MNT").sock
[ -S "$SOCK" ] || fail "no control socket at $SOCK"

# The attack, run from root so one script drives every uid: a child per
# uid drops to it, connects four times and says which connections were
# refused; then root's status is timed; then the children report when
# the daemon dropped the idle ones.
"$PYTHON" - "$SOCK" "$VAULTCTL" "$MNT" >"$VF_TMP/attack" 2>&1 <<'EOF' ||
import os, select, socket, subprocess, sys, time
sock, vaultctl, mnt = sys.argv[1:4]

def child(uid, w, dribble):
    os.setgroups([]); os.setgid(uid); os.setuid(uid)
    conns = []
    for i in range(1 if dribble else 4):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock)
        conns.append((s, time.monotonic()))
    time.sleep(0.3)
    idle = []
    for s, t0 in conns:
        r, _, _ = select.select([s], [], [], 0)
        data = s.recv(4096, socket.MSG_DONTWAIT) if r else b""
        if r and b"control socket busy" in data:
            os.write(w, b"refused\n")
        elif r:
            os.write(w, b"unexpected %r\n" % data)
        else:
            idle.append((s, t0))
    os.write(w, b"classified\n")
    # Dribble: the request's first bytes, one every 0.5 s, never all.
    for s, t0 in idle:
        while True:
            if dribble:
                try:
                    s.send(b"\x01")
                except OSError:
                    pass
            r, _, _ = select.select([s], [], [], 0.5 if dribble else 15)
            if r or time.monotonic() - t0 > 15:
                break
        got = s.recv(4096) if r else None
        how = "dropped" if got == b"" else "still open" if got is None else "answered %r" % got
        os.write(w, b"%s after %.1f s\n" % (how.encode(), time.monotonic() - t0))
    os._exit(0)

kids = []
r, w = os.pipe()
for i, uid in enumerate(list(range(5101, 5108)) + [5110]):
    pid = os.fork()
    if pid == 0:
        os.close(r)
        child(uid, w, uid == 5110)
    kids.append(pid)
    # wait for this child to classify before starting the next: the
    # order, and so the counts, are deterministic
    buf = b""
    while b"classified\n" not in buf:
        buf += os.read(r, 4096)
    sys.stdout.write(buf.decode().replace("classified\n", ""))
os.close(w)
t0 = time.monotonic()
p = subprocess.run([vaultctl, "status", mnt], capture_output=True, text=True)
print("root status rc=%d in %.1f s" % (p.returncode, time.monotonic() - t0))
sys.stdout.flush()
rest = b""
while True:
    b = os.read(r, 4096)
    if not b:
        break
    rest += b
sys.stdout.write(rest.decode())
for pid in kids:
    os.waitpid(pid, 0)
EOF
	fail "attack script failed: $(cat "$VF_TMP/attack")"
cat "$VF_TMP/attack" >&2

# 7 uids x 4 tries: 2 each for the first 6 (12: the pool for non-root
# callers), none for the 7th, and the dribbler after them is refused too.
assert_eq 17 "$(grep -c '^refused$' "$VF_TMP/attack")" "refused connections"
grep -q unexpected "$VF_TMP/attack" && fail "a connection got an unexpected answer"
line=$(grep '^root status' "$VF_TMP/attack")
case $line in
"root status rc=0 in "[01].*) ;;
*) fail "root's vaultctl status was not answered promptly: $line" ;;
esac
# The daemon drops idle connections at 5 s (the request deadline).
assert_eq 12 "$(grep -cE '^dropped after [4-7]\.' "$VF_TMP/attack")" "idle connections dropped after the deadline"

# With the pool free again, the dribbler alone: dropped at the deadline
# although it keeps sending.
"$PYTHON" - "$SOCK" >"$VF_TMP/dribble" <<'EOF' || fail "dribble script failed"
import os, select, socket, struct, sys, time
os.setgroups([]); os.setgid(5110); os.setuid(5110)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
t0 = time.monotonic()
got = None
req = struct.pack("<II", 1, 100) + b"a" * 100  # argc 1, 100 bytes
while time.monotonic() - t0 < 15:
    try:
        s.send(req[:1])
        req = req[1:]
    except OSError:
        got = b""
        break
    r, _, _ = select.select([s], [], [], 0.5)
    if r:
        got = s.recv(4096)
        break
print("dropped" if got == b"" else "answered %r" % got if got else "still open",
      "after %.1f s" % (time.monotonic() - t0))
EOF
grep -qE '^dropped after [4-7]\.' "$VF_TMP/dribble" ||
	fail "a dribbling client was not dropped at the deadline: $(cat "$VF_TMP/dribble")"

# After all that, a no-role user still gets an answer (refused by role),
# and root's commands work.
out=$(setpriv --reuid 5101 --regid 5101 --clear-groups "$VAULTCTL" status "$MNT" 2>&1) &&
	fail "status for a no-role uid succeeded: $out"
case $out in *busy* | *"did not answer"*) fail "no-role uid still locked out: $out" ;; esac
"$VAULTCTL" status "$MNT" >/dev/null || fail "root's status after the attack"

# vaultctl over the limit says so in one line (the daemon may hang up
# before the request is even out: the client still reads why).
setpriv --reuid 5101 --regid 5101 --clear-groups "$PYTHON" -c '
import socket, sys, time
a = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(2)]
for s in a:
    s.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(4)
' "$SOCK" >"$VF_TMP/hold" &
HOLD=$!
for _ in $(seq 50); do grep -q holding "$VF_TMP/hold" && break; sleep 0.1; done
for try in 1 2 3 4 5; do
	rc=0
	setpriv --reuid 5101 --regid 5101 --clear-groups "$VAULTCTL" status "$MNT" \
		>/dev/null 2>"$VF_TMP/err" || rc=$?
	assert_eq 1 "$rc" "exit status over the limit (try $try)"
	assert_eq "vaultctl: control socket busy: uid 5101 already has 2 connections open; try again later" \
		"$(cat "$VF_TMP/err")" "message over the limit (try $try)"
done
kill "$HOLD" 2>/dev/null || true
wait "$HOLD" 2>/dev/null || true

# Client timeout: a socket that accepts (backlog) and never answers.
FAKE=$VF_TMP/fake
mkdir "$FAKE"
FSOCK=/run/vaultfs/$("$PYTHON" -c '
import hashlib, os, sys
print(hashlib.blake2b(os.path.realpath(sys.argv[1]).encode(), digest_size=16).hexdigest())
' "$FAKE").sock
"$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(4)
print("ready", flush=True)
time.sleep(30)
' "$FSOCK" >"$VF_TMP/fake.out" &
FAKE_PID=$!
for _ in $(seq 50); do grep -q ready "$VF_TMP/fake.out" && break; sleep 0.1; done
t0=$(date +%s)
rc=0
VAULTCTL_TIMEOUT=2 "$VAULTCTL" status "$FAKE" >"$VF_TMP/out" 2>"$VF_TMP/err" || rc=$?
t1=$(date +%s)
kill "$FAKE_PID"
wait "$FAKE_PID" 2>/dev/null || true
rm -f "$FSOCK"
assert_eq 1 "$rc" "exit status with a daemon that does not answer"
assert_eq "vaultctl: the vaultfs daemon of '$FAKE' did not answer within 2 s" "$(cat "$VF_TMP/err")" "timeout message"
[ $((t1 - t0)) -le 4 ] || fail "vaultctl took $((t1 - t0)) s to give up"

vf_umount
log "ok"
