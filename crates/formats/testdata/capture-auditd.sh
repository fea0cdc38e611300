#!/usr/bin/env bash
# Writes real Linux audit logs into auditd/: runs Debian's auditd twice, with
# log_format=RAW (auditd/audit-raw.log) and log_format=ENRICHED (auditd/audit-enriched.log),
# with rules that record the connect and execve system calls of one system user
# (dozorbot, created if missing), while that user runs: a Python "bot" polling the
# Telegram Bot API through curl (the name resolved to a local TLS server), a direct
# connection to Telegram's network (149.154.167.220:443, which fails in a sandbox
# without internet), a plain HTTP request, an IPv6 connection and a shell pipeline.
# The audit rules are removed and auditing is restored to its previous state at the end.
# Usage: capture-auditd.sh   (needs root, a kernel with audit, auditd, curl, openssl,
# python3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
chmod 755 "$work"
was_enabled=$(auditctl -s | awk '$1 == "enabled" {print $2}')
cleanup() {
    auditctl -D -k dozor_net >/dev/null 2>&1 || true
    auditctl -D -k dozor_exec >/dev/null 2>&1 || true
    [ -f "$work/auditd.pid" ] && kill "$(cat "$work/auditd.pid")" 2>/dev/null || true
    auditctl -e "${was_enabled:-0}" >/dev/null 2>&1 || true
    kill $(jobs -p) 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

id dozorbot >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin dozorbot
uid=$(id -u dozorbot)

openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=api.telegram.org -days 2 \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
openssl s_server -quiet -accept 127.0.0.1:18443 -www -cert "$work/cert.pem" -key "$work/key.pem" \
    >/dev/null 2>&1 &
mkdir -p "$work/www" && echo hello >"$work/www/index.html"
python3 -m http.server 18081 --bind 127.0.0.1 --directory "$work/www" >/dev/null 2>&1 &
python3 -m http.server 18082 --bind ::1 --directory "$work/www" >/dev/null 2>&1 &
cat >"$work/bot.py" <<'PY'
import subprocess
token = "6023848128:AAHn1lS8fkVn0J3T5mkK_2QqvTwwHF8bOwo"
for offset in (0, 1):
    subprocess.run(["curl", "-sk", "--resolve", "api.telegram.org:18443:127.0.0.1",
                    f"https://api.telegram.org:18443/bot{token}/getUpdates?offset={offset}"],
                   stdout=subprocess.DEVNULL, check=False)
PY
chmod 644 "$work/bot.py"
sleep 1

capture() { # FORMAT OUTPUT
    rm -rf "$work/log" && mkdir "$work/log"
    cat >"$work/auditd.conf" <<CONF
local_events = yes
write_logs = yes
log_file = $work/log/audit.log
log_group = root
log_format = $1
flush = INCREMENTAL_ASYNC
freq = 1
max_log_file = 64
num_logs = 1
max_log_file_action = ROTATE
space_left = 2
space_left_action = IGNORE
admin_space_left = 1
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
name_format = HOSTNAME
CONF
    # auditd makes its log folder private, so the log has a folder of its own.
    auditd -n -c "$work" &
    echo $! >"$work/auditd.pid"
    for _ in $(seq 50); do [ -s "$work/log/audit.log" ] && break; sleep 0.1; done
    auditctl -e 1 >/dev/null
    auditctl -a always,exit -F arch=b64 -S connect -F uid="$uid" -k dozor_net
    auditctl -a always,exit -F arch=b64 -S execve -F uid="$uid" -k dozor_exec
    runuser -u dozorbot -- python3 "$work/bot.py"
    runuser -u dozorbot -- python3 -c 'import socket; s = socket.socket(); s.settimeout(1)
try: s.connect(("149.154.167.220", 443))
except OSError: pass' || true
    runuser -u dozorbot -- curl -s -o /dev/null http://127.0.0.1:18081/index.html
    runuser -u dozorbot -- curl -s -o /dev/null 'http://[::1]:18082/index.html'
    runuser -u dozorbot -- sh -c 'echo "id; uname -a" | sh' >/dev/null
    auditctl -D -k dozor_net >/dev/null
    auditctl -D -k dozor_exec >/dev/null
    sleep 1
    kill "$(cat "$work/auditd.pid")"
    wait "$(cat "$work/auditd.pid")" 2>/dev/null || true
    rm -f "$work/auditd.pid"
    cp "$work/log/audit.log" "$2"
}
capture RAW "$here/auditd/audit-raw.log"
capture ENRICHED "$here/auditd/audit-enriched.log"
wc -l "$here"/auditd/*.log
