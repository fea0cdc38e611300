#!/usr/bin/env bash
# Writes real Squid access logs into squid/access.log (native) and
# access-log/squid-combined.log (combined): starts Squid (Debian's package) as a
# forward proxy on loopback with two access logs (native `squid` and `combined`), sends
# requests through it with curl, and stops it. Names resolve through Squid's own
# hosts_file to local servers, so no traffic leaves the machine:
#   api.telegram.org:443     a local TLS server (CONNECT tunnels: a bot polling getUpdates and
#                            sending a message, then a browser)
#   files.example.test:18080 a local HTTP server (plain GET/HEAD/POST through the proxy)
#   pastebin.com             denied by an ACL (TCP_DENIED)
#   nxdomain.example.test    unresolvable (ERR_DNS_FAIL)
# Usage: capture.sh   (needs root, squid, curl, openssl, python3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
chmod 777 "$work"
trap 'kill $(jobs -p) 2>/dev/null; squid -f "$work/squid.conf" -k shutdown 2>/dev/null; sleep 1; rm -rf "$work"' EXIT

openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=api.telegram.org -days 2 \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
openssl s_server -quiet -accept 127.0.0.1:443 -www -cert "$work/cert.pem" -key "$work/key.pem" \
    >/dev/null 2>&1 &
mkdir -p "$work/www" && echo hello >"$work/www/index.html"
python3 -m http.server 18080 --bind 127.0.0.1 --directory "$work/www" >/dev/null 2>&1 &

printf '127.0.0.1 api.telegram.org files.example.test pastebin.com\n' >"$work/hosts"
cat >"$work/squid.conf" <<CONF
http_port 127.0.0.1:13128
pid_filename $work/squid.pid
cache_log $work/cache.log
access_log stdio:$work/access.log squid
access_log stdio:$work/access-combined.log combined
cache deny all
hosts_file $work/hosts
dns_nameservers 127.0.0.1
coredump_dir $work
acl blocked dstdomain .pastebin.com
http_access deny blocked
http_access allow localhost
http_access deny all
CONF
squid -f "$work/squid.conf" -N &
for _ in $(seq 50); do
    curl -s -o /dev/null http://127.0.0.1:13128/ && break
    sleep 0.2
done

proxy=(-s -o /dev/null -x http://127.0.0.1:13128 --max-time 10)
curl "${proxy[@]}" -k -A 'python-requests/2.31.0' 'https://api.telegram.org/bot6023848128:AAHn1lS8fkVn0J3T5mkK_2QqvTwwHF8bOwo/getUpdates?offset=0&timeout=30' || true
curl "${proxy[@]}" -k -A 'Go-http-client/1.1' -d 'chat_id=1&text=ok' 'https://api.telegram.org/bot6023848128:AAHn1lS8fkVn0J3T5mkK_2QqvTwwHF8bOwo/sendMessage' || true
curl "${proxy[@]}" -k -A 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0' https://api.telegram.org/ || true
curl "${proxy[@]}" -A 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36' -e 'http://files.example.test:18080/' http://files.example.test:18080/index.html || true
curl "${proxy[@]}" -I http://files.example.test:18080/index.html || true
curl "${proxy[@]}" -d 'a=1' http://files.example.test:18080/upload || true
curl "${proxy[@]}" http://files.example.test:18080/missing%20file.txt || true
curl "${proxy[@]}" -A 'curl "quoted" agent' http://pastebin.com/raw/abc123 || true
curl "${proxy[@]}" -k https://pastebin.com/raw/abc123 || true
curl "${proxy[@]}" http://nxdomain.example.test/ || true
printf 'GARBAGE\r\n\r\n' | timeout 3 python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",13128)); s.sendall(sys.stdin.buffer.read()); s.recv(4096)' || true
sleep 1
squid -f "$work/squid.conf" -k shutdown
wait %3 2>/dev/null || true
cp "$work/access.log" "$here/squid/access.log"
cp "$work/access-combined.log" "$here/access-log/squid-combined.log"
wc -l "$here/squid/access.log" "$here/access-log/squid-combined.log"
