#!/usr/bin/env bash
# Writes real Suricata EVE output into suricata/eve.json: captures loopback traffic with
# tcpdump while clients talk to local servers, then has Suricata (Debian's package,
# bookworm-backports) read the capture with four local rules (three about the Telegram
# Bot API, one benign), logging alert, flow, dns (version 2, detailed and grouped
# answers), tls (with JA3 and JA4), http and stats records; and DNS answers once more
# in the grouped format alone (eve-grouped.json).
# No traffic leaves the machine:
#   127.0.0.1:53   dnsmasq answering for api.telegram.org, www.example.test, and
#                  NXDOMAIN for nx.example.test (UDP and TCP queries)
#   :443           an openssl TLS server: a bot client (TLS 1.3 and 1.2, python UA) at
#                  149.154.167.220 (the answer for api.telegram.org, added to lo for the
#                  capture) and a browser-like client at 127.0.0.1, by SNI
#   :80            a Python HTTP server: a bot polling getUpdates in clear text (at
#                  149.154.167.220), and a browser fetching a page (at 127.0.0.1)
# Usage: capture-suricata.sh   (needs root, iproute2, suricata, tcpdump, dnsmasq, dig,
# curl, openssl, python3; Suricata comes from bookworm-backports:
# `apt-get install -t bookworm-backports suricata` with that suite in the apt sources)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
# Telegram's Bot API address, on loopback while the capture runs, so that the bot's
# connections go to the address its DNS answer gave.
telegram=149.154.167.220
ip addr add "$telegram/32" dev lo
trap 'kill $(jobs -p) 2>/dev/null; ip addr del "$telegram/32" dev lo; rm -rf "$work"' EXIT

tcpdump -i lo -U -w "$work/capture.pcap" 'port 53 or port 443 or port 80' 2>/dev/null &
capture=$!
dnsmasq --no-daemon --no-resolv --no-hosts --port=53 --listen-address=127.0.0.1 \
    --bind-interfaces --address=/api.telegram.org/$telegram \
    --address=/www.example.test/127.0.0.1 --address=/nx.example.test/ 2>/dev/null &
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=api.telegram.org -days 2 \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
openssl s_server -quiet -accept 443 -www -cert "$work/cert.pem" -key "$work/key.pem" \
    >/dev/null 2>&1 &
mkdir -p "$work/www" && echo hello >"$work/www/index.html"
python3 -m http.server 80 --bind 0.0.0.0 --directory "$work/www" >/dev/null 2>&1 &
sleep 2

dig +short @127.0.0.1 api.telegram.org A
dig +short @127.0.0.1 api.telegram.org AAAA
dig +short @127.0.0.1 www.example.test A
dig +short @127.0.0.1 nx.example.test A
dig +short +tcp @127.0.0.1 api.telegram.org A
token='bot6023848128:AAHn1lS8fkVn0J3T5mkK_2QqvTwwHF8bOwo'
tls=(-s -o /dev/null -k --max-time 5 --interface 127.0.0.1 --resolve "api.telegram.org:443:$telegram" --resolve www.example.test:443:127.0.0.1)
curl "${tls[@]}" -A 'python-requests/2.31.0' "https://api.telegram.org/$token/getUpdates?offset=0" || true
curl "${tls[@]}" --tls-max 1.2 -A 'Go-http-client/1.1' "https://api.telegram.org/$token/sendMessage" || true
curl "${tls[@]}" -A 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0' https://www.example.test/ || true
http=(-s -o /dev/null --max-time 5 --interface 127.0.0.1 --resolve "api.telegram.org:80:$telegram" --resolve www.example.test:80:127.0.0.1)
curl "${http[@]}" -A 'python-requests/2.31.0' "http://api.telegram.org/$token/getUpdates?offset=0" || true
curl "${http[@]}" -A 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36' http://www.example.test/index.html || true
sleep 1
kill -INT "$capture"
wait "$capture" 2>/dev/null || true

cat >"$work/dozor.rules" <<'RULES'
alert dns any any -> any any (msg:"DOZOR DNS query for the Telegram Bot API"; dns.query; content:"api.telegram.org"; nocase; classtype:policy-violation; sid:9000001; rev:1;)
alert tls any any -> any any (msg:"DOZOR TLS SNI of the Telegram Bot API"; tls.sni; content:"api.telegram.org"; nocase; classtype:policy-violation; sid:9000002; rev:1;)
alert http any any -> any any (msg:"DOZOR Telegram bot method over HTTP"; http.uri; content:"/bot"; startswith; content:"/getUpdates"; classtype:trojan-activity; sid:9000003; rev:1;)
alert http any any -> any any (msg:"DOZOR HTTP request to the example site"; http.host; content:"www.example.test"; classtype:misc-activity; sid:9000004; rev:1;)
RULES
cat >"$work/suricata.yaml" <<CONF
%YAML 1.1
---
vars:
  address-groups:
    HOME_NET: "[127.0.0.0/8]"
    EXTERNAL_NET: "any"
  port-groups:
    HTTP_PORTS: "80"
default-rule-path: $work
rule-files: [dozor.rules]
classification-file: /etc/suricata/classification.config
reference-config-file: /etc/suricata/reference.config
default-log-dir: $work
outputs:
  - eve-log:
      enabled: yes
      filetype: regular
      filename: eve.json
      community-id: yes
      types:
        - alert:
            metadata: yes
        - http:
            extended: yes
        - dns:
            version: 2
        - tls:
            extended: yes
            custom: [subject, issuer, serial, fingerprint, sni, version, not_before, not_after, ja3, ja3s, ja4]
        - flow
        - stats:
            totals: yes
            threads: no
  - eve-log:
      enabled: yes
      filetype: regular
      filename: eve-grouped.json
      types:
        - dns:
            version: 2
            formats: [grouped]
app-layer:
  protocols:
    tls:
      enabled: yes
      detection-ports:
        dp: 443
      ja3-fingerprints: yes
      ja4-fingerprints: yes
    http:
      enabled: yes
    dns:
      tcp:
        enabled: yes
        detection-ports:
          dp: 53
      udp:
        enabled: yes
        detection-ports:
          dp: 53
CONF
suricata -c "$work/suricata.yaml" -r "$work/capture.pcap" -k none -l "$work" >"$work/suricata.out" 2>&1 \
    || { cat "$work/suricata.out"; exit 1; }
cp "$work/eve.json" "$here/suricata/eve.json"
cp "$work/eve-grouped.json" "$here/suricata/eve-grouped.json"
wc -l "$here/suricata/eve.json" "$here/suricata/eve-grouped.json"
