#!/usr/bin/env bash
# 0029-key-command-file: a key command can carry a secret (a KMS token, a
# TPM PIN), and every user can read other processes' command lines.  The
# daemon scrubs key_command= from its argv, and key_command_file= (or
# vaultctl --key-command-file) reads the command from a root-only file so
# that it never reaches a command line or the mount table.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

SECRET=s3cr3t-$$
head -c 32 /dev/urandom >"$VF_TMP/key"
chmod 600 "$VF_TMP/key"
printf 'cat %s # %s\n' "$VF_TMP/key" "$SECRET" >"$VF_TMP/cmd"
chmod 600 "$VF_TMP/cmd"

"$VAULTCTL" init "$VAULT" --key-command-file "$VF_TMP/cmd" >/dev/null ||
	fail "init --key-command-file failed"

# ---- the file: mounts, and no secret on any command line ----------------
vf_mount "key_command_file=$VF_TMP/cmd"
echo data >"$MNT/f"
tr '\0' ' ' <"/proc/$VF_PID/cmdline" | grep -q "$SECRET" && fail "the secret is on the daemon's command line"
grep -q "$SECRET" /proc/self/mounts && fail "the secret is in the mount table"
vf_umount

# ---- key_command= works too, and is scrubbed from the daemon's argv ------
vf_mount "key_command=cat $VF_TMP/key # $SECRET"
assert_eq data "$(cat "$MNT/f")" "content through key_command="
if tr '\0' ' ' <"/proc/$VF_PID/cmdline" | grep -q "$SECRET"; then
	fail "key_command= is visible in /proc/PID/cmdline: $(tr '\0' ' ' <"/proc/$VF_PID/cmdline")"
fi
vf_umount

# ---- offline, and refusals: one line, nothing changed ---------------------
"$VAULTCTL" check "$VAULT" --key-command-file "$VF_TMP/cmd" >/dev/null ||
	fail "offline check with --key-command-file failed"
chmod 644 "$VF_TMP/cmd"
rc=0
"$VAULTCTL" check "$VAULT" --key-command-file "$VF_TMP/cmd" >/dev/null 2>"$VF_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status with a readable command file"
assert_eq 1 "$(wc -l <"$VF_TMP/err")" "one line for a readable command file"
grep -q "readable or writable by others" "$VF_TMP/err" || fail "unexpected message: $(cat "$VF_TMP/err")"
chmod 600 "$VF_TMP/cmd"
: >"$VF_TMP/empty"
chmod 600 "$VF_TMP/empty"
rc=0
"$VAULTCTL" check "$VAULT" --key-command-file "$VF_TMP/empty" >/dev/null 2>"$VF_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status with an empty command file"
grep -q "no command on its first line" "$VF_TMP/err" || fail "unexpected message: $(cat "$VF_TMP/err")"
rc=0
"$VAULTCTL" check "$VAULT" --key-command-file "$VF_TMP/cmd" --key-file "$VF_TMP/key" >/dev/null 2>"$VF_TMP/err" || rc=$?
assert_eq 2 "$rc" "exit status of two key options"
log "ok"
