#!/usr/bin/env bash
# tests/serve/clients.sh BIN - `throttlesim serve` against real SMTP clients
# that this project did not write, as Debian ships them: swaks, msmtp,
# Python's smtplib, curl and Postfix (as a relay with serve as its
# smarthost).  Each check asserts the exact reply code at the stage it
# belongs to; one line per check; the exit status is non-zero on any
# failure.  Installs nothing: a missing tool is named and the suite fails.
#
#   bash tests/serve/clients.sh build/debug/throttlesim     (from the repo root)
#
# Debian packages: swaks libnet-ssleay-perl libio-socket-ssl-perl
# libauthen-sasl-perl msmtp curl python3 openssl postfix libsasl2-modules.
# CLIENTS_KEEP=1 keeps the temporary directory (records, transcripts, the
# Postfix log) for a look after a failure.
#
# Time (wall, on an idle 2-core machine): about 30 s in all.  The swaks,
# msmtp, curl and most smtplib checks take a second or two together; the
# time-scaled recipient window waits about 12 s; Postfix about 10 s (start,
# 1 s for the release, then its retries every 2-4 s).  Every wait is bounded:
# serve's start 10 s, a record line 3 s, a client 20-30 s, Postfix 60 s.
# The suite runs as root (Postfix's master must be).
set -u

BIN=${1:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
	echo "usage: bash tests/serve/clients.sh BIN   (BIN: a built throttlesim, e.g. build/debug/throttlesim)" >&2
	exit 2
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
HERE=$(cd "$(dirname "$0")" && pwd)

# ---- the tools ---------------------------------------------------------------
missing=""
for t in swaks msmtp curl python3 openssl perl; do
	command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
for t in /usr/sbin/postfix /usr/sbin/postconf /usr/sbin/postqueue /usr/sbin/sendmail; do
	[ -x "$t" ] || missing="$missing $t(postfix)"
done
perl -MNet::SSLeay -e1 2>/dev/null || missing="$missing Net::SSLeay(libnet-ssleay-perl)"
perl -MIO::Socket::SSL -e1 2>/dev/null || missing="$missing IO::Socket::SSL(libio-socket-ssl-perl)"
perl -MAuthen::SASL -e1 2>/dev/null || missing="$missing Authen::SASL(libauthen-sasl-perl)"
# Postfix's SMTP client does AUTH LOGIN through Cyrus SASL's login plugin
compgen -G '/usr/lib/*/sasl2/liblogin.so*' >/dev/null || compgen -G '/usr/lib/sasl2/liblogin.so*' >/dev/null ||
	missing="$missing sasl2/liblogin.so(libsasl2-modules)"
if [ -n "$missing" ]; then
	echo "clients.sh: missing:$missing" >&2
	echo "clients.sh: install: apt-get install swaks libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl msmtp curl python3 openssl postfix libsasl2-modules (or: make deps)" >&2
	exit 1
fi

# ---- the temporary directory, and cleaning up --------------------------------
WORK=$(mktemp -d /tmp/throttlesim-clients.XXXXXX) || exit 1
# Postfix's daemons run as the postfix user and must reach their queue in here
chmod 0755 "$WORK"
SERVE_PIDS=()
SERVE_NAMES=()
PF_STARTED=""

cleanup() {
	if [ -n "$PF_STARTED" ]; then
		/usr/sbin/postfix -c "$PF_STARTED" stop >/dev/null 2>&1
		# master exits within a second or so of stop; abort any straggler
		local mp i
		mp=$(cat "$WORK/pf/spool/pid/master.pid" 2>/dev/null | tr -d ' ')
		for i in $(seq 50); do
			[ -n "$mp" ] && kill -0 "$mp" 2>/dev/null || break
			sleep 0.1
		done
		[ -n "$mp" ] && kill -0 "$mp" 2>/dev/null && kill -KILL "$mp" 2>/dev/null
	fi
	local p
	for p in "${SERVE_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${SERVE_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	if [ "${CLIENTS_KEEP:-0}" = 1 ]; then
		echo "clients.sh: kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- reporting -------------------------------------------------------------------
PASS=0 FAIL=0 SKIP=0
ok() { echo "ok   $*"; PASS=$((PASS + 1)); }
bad() { echo "FAIL $*"; FAIL=$((FAIL + 1)); }
skipped() { echo "skip $*"; SKIP=$((SKIP + 1)); }
# check WHAT CONDITION-COMMAND...: ok or FAIL by the command's status
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
# Counts the ok/FAIL/skip lines of a helper's output (and prints them).
tally() {
	local line
	while IFS= read -r line; do
		echo "$line"
		case $line in
		"ok   "*) PASS=$((PASS + 1)) ;;
		"FAIL "*) FAIL=$((FAIL + 1)) ;;
		"skip "*) SKIP=$((SKIP + 1)) ;;
		esac
	done
}

# helper NAME COMMAND...: runs a helper that prints ok/FAIL/skip lines; one
# that fails without saying so (a traceback) is a failure too.
helper() {
	local name=$1 rc nfail
	shift
	"$@" >"$WORK/helper-$name.txt" 2>&1
	rc=$?
	nfail=$FAIL
	tally <"$WORK/helper-$name.txt"
	if [ "$rc" != 0 ] && [ "$FAIL" = "$nfail" ]; then
		bad "$name: the helper exited $rc without a FAIL line:"
		sed 's/^/     /' "$WORK/helper-$name.txt" | tail -n 15
	fi
}

# ---- serve instances -----------------------------------------------------------
# start_serve NAME SCENARIO [serve options...]: starts serve on a free port
# with its own record, db, token key and certificate under $WORK/NAME.*;
# sets PORT.  Waits (at most 10 s) for the first stdout line.
start_serve() {
	local name=$1 scn=$2
	shift 2
	local d=$WORK/$name
	"$BIN" serve "$scn" --listen 127.0.0.1:0 --quiet --record "$d.jsonl" --db "$d.db" \
		--token-key "$d.key" --write-cert "$d.pem" "$@" >"$d.out" 2>"$d.err" &
	SERVE_PIDS+=($!)
	SERVE_NAMES+=("$name")
	local i line=""
	for i in $(seq 100); do
		line=$(head -n 1 "$d.out" 2>/dev/null)
		case $line in "listening on "*:*) break ;; esac
		kill -0 "$!" 2>/dev/null || break
		sleep 0.1
	done
	PORT=${line##*:}
	case $line in
	"listening on 127.0.0.1:"[0-9]*) ;;
	*)
		echo "clients.sh: serve $name did not start: first line '$line'" >&2
		cat "$d.err" >&2
		exit 1
		;;
	esac
	chmod 0644 "$d.pem"
}

# record_has FILE PATTERN...: every pattern (grep -E) on one line of FILE;
# serve flushes its record once a second, so this waits up to 3 s.
record_has() {
	local f=$1 i
	shift
	for i in $(seq 30); do
		if grep -F '"ev":"message"' "$f" | all_of "$@" >/dev/null; then return 0; fi
		sleep 0.1
	done
	return 1
}
all_of() {
	if [ $# -eq 0 ]; then cat; return; fi
	local p=$1
	shift
	grep -E -- "$p" | all_of "$@"
}

# a message file: msg FILE FROM MESSAGE-ID
msg() {
	printf 'From: %s\r\nTo: someone@fabrikam.com\r\nSubject: clients.sh %s\r\nMessage-ID: <%s>\r\nDate: Mon, 01 Jun 2026 00:00:00 +0000\r\n\r\nA message from the client suite.\r\n' \
		"$2" "$3" "$3" >"$1"
}

# ---- the scenario --------------------------------------------------------------
# Before 2027 Basic auth (LOGIN, PLAIN) stays allowed.  Recipients at
# fabrikam.com are external (not a mailbox domain).
cat >"$WORK/main.yaml" <<'EOF'
name: clients
start: 2026-06-01T00:00:00Z
duration: 1d
tenant: {licenses: 100}
mailboxes:
  - {name: swaks@contoso.com, password: pw}
  - {name: msmtp@contoso.com, password: pw}
  - {name: off@contoso.com, password: pw, smtp_client_auth_disabled: true}
  - {name: curl@contoso.com, password: pw}
  - {name: oauth@contoso.com}
  - {name: plain@contoso.com, password: pw}
  - {name: conc@contoso.com, password: pw}
  - {name: rated@contoso.com, password: pw, limits: {message_rate_mode: reject}}
  - {name: sendas@contoso.com, password: pw}
  - {name: other@contoso.com, password: pw}
  - {name: tls@contoso.com, password: pw}
limits:
  preset: exchange-online
  concurrency_check: end_of_data
  error_throttle: {threshold: 10, window: 10m, period: 1h}
EOF

start_serve main "$WORK/main.yaml"
MAIN_PORT=$PORT
CERT=$WORK/main.pem
REC=$WORK/main.jsonl
echo "serve (main) on 127.0.0.1:$MAIN_PORT"

# ---- 1. swaks -------------------------------------------------------------------------
# Each swaks run: one session, well under a second.
SW=(swaks --server "127.0.0.1:$MAIN_PORT" --helo client.test --to someone@fabrikam.com
	--from swaks@contoso.com -tls --tls-verify --tls-ca-path "$CERT" --timeout 20)

"${SW[@]}" --auth LOGIN --auth-user swaks@contoso.com --auth-password pw --pipeline \
	--header 'Message-ID: <swaks-login@clients.test>' >"$WORK/swaks-login.txt" 2>&1
rc=$?
T=$WORK/swaks-login.txt
check "swaks: exit 0 (STARTTLS, AUTH LOGIN, --pipeline)" [ "$rc" = 0 ]
# the EHLO in clear: from the first EHLO to STARTTLS
sed -n '/^ -> EHLO/,/^ -> STARTTLS/p' "$T" >"$WORK/swaks-clear.txt"
check "swaks: EHLO before TLS offers STARTTLS" grep -qE '^<-  250[- ]STARTTLS$' "$WORK/swaks-clear.txt"
check "swaks: EHLO before TLS offers no AUTH" bash -c "! grep -q AUTH '$WORK/swaks-clear.txt'"
check "swaks: EHLO after TLS offers AUTH LOGIN XOAUTH2" grep -qE '^<~  250-AUTH LOGIN XOAUTH2$' "$T"
check "swaks: AUTH LOGIN -> 235 2.7.0" grep -qE '^<~  235 2\.7\.0 ' "$T"
check "swaks: pipelined MAIL/RCPT/DATA -> 250 2.1.0, 250 2.1.5, 354" \
	bash -c "grep -A3 '^ ~> DATA$' '$T' | tr '\n' '|' | grep -qE '<~  250 2\.1\.0 [^|]*\|<~  250 2\.1\.5 [^|]*\|<~  354 '"
check "swaks: final dot -> 250 2.0.0" bash -c "grep -A1 '^ ~> \.$' '$T' | tail -n 1 | grep -qE '^<~  250 2\.0\.0 '"
check "swaks: the record has the message, 250 at end_of_data" \
	record_has "$REC" '"message_id":"swaks-login@clients.test"' '"stage":"end_of_data","code":250,"enhanced":"2.0.0"'

# AUTH PLAIN: serve, like the service, advertises only LOGIN and XOAUTH2,
# and swaks sends a mechanism only when the server lists it.  So swaks
# declines (its exit 28) without sending AUTH; smtplib below shows that
# serve does accept AUTH PLAIN sent unadvertised.
"${SW[@]}" --auth PLAIN --auth-user swaks@contoso.com --auth-password pw >"$WORK/swaks-plain.txt" 2>&1
rc=$?
check "swaks: --auth PLAIN: not advertised, swaks declines (exit 28, no AUTH sent)" \
	bash -c "[ $rc = 28 ] && grep -q 'requested type not available' '$WORK/swaks-plain.txt' && ! grep -q '^ ~> AUTH' '$WORK/swaks-plain.txt'"

"${SW[@]}" --auth LOGIN --auth-user swaks@contoso.com --auth-password wrong >"$WORK/swaks-bad.txt" 2>&1
rc=$?
check "swaks: wrong password -> 535 5.7.139 at AUTH (exit 28)" \
	bash -c "[ $rc = 28 ] && grep -A5 '^ ~> AUTH LOGIN$' '$WORK/swaks-bad.txt' | grep -qE '^<~\* 535 5\.7\.139 '"

# ---- 2. msmtp -----------------------------------------------------------------------------
# msmtprc ACCOUNT-USER: STARTTLS, the certificate trusted from --write-cert
msmtprc() {
	cat >"$WORK/msmtprc.$1" <<EOF
defaults
tls on
tls_starttls on
tls_trust_file $CERT
logfile $WORK/msmtp.log
account serve
host 127.0.0.1
port $MAIN_PORT
auth on
user $1@contoso.com
password pw
from $1@contoso.com
account default : serve
EOF
	chmod 0600 "$WORK/msmtprc.$1"
}
msmtprc msmtp
msmtprc off
msg "$WORK/msmtp.eml" msmtp@contoso.com msmtp-1@clients.test
msmtp -C "$WORK/msmtprc.msmtp" someone@fabrikam.com <"$WORK/msmtp.eml" >"$WORK/msmtp-ok.txt" 2>&1
rc=$?
check "msmtp: STARTTLS + auth, trusting --write-cert -> exit 0" [ "$rc" = 0 ]
check "msmtp: the record has the message, 250 at end_of_data" \
	record_has "$REC" '"message_id":"msmtp-1@clients.test"' '"mailbox":"msmtp@contoso.com"' '"code":250'
msg "$WORK/off.eml" off@contoso.com msmtp-off@clients.test
msmtp -C "$WORK/msmtprc.off" someone@fabrikam.com <"$WORK/off.eml" >"$WORK/msmtp-off.txt" 2>&1
rc=$?
# msmtp: authentication failure is EX_NOPERM (77)
check "msmtp: smtp_client_auth_disabled mailbox -> exit 77, '535 5.7.139' in its message" \
	bash -c "[ $rc = 77 ] && grep -q 'server message: 535 5.7.139 ' '$WORK/msmtp-off.txt'"

# ---- 3. Python smtplib ------------------------------------------------------------
# plain, concurrency, rate, sendas and tls11 take a second or two each.
for c in plain concurrency rate sendas tls11; do
	helper "$c" python3 "$HERE/smtp_checks.py" "$c" --port "$MAIN_PORT" --cafile "$CERT"
done

# (c) the rolling 24 h recipient window on a clock 8640 times the wall's:
# 24 model hours in 10 s.  Its own serve, so the other checks' messages
# do not share its clock.
cat >"$WORK/scaled.yaml" <<'EOF'
name: clients-scaled
start: 2026-06-01T00:00:00Z
duration: 2d
tenant: {licenses: 10}
mailboxes:
  - {name: bulk@contoso.com, password: pw}
limits: {preset: exchange-online, concurrency_check: end_of_data}
EOF
start_serve scaled "$WORK/scaled.yaml" --time-scale 8640
echo "serve (scaled, --time-scale 8640) on 127.0.0.1:$PORT"
helper recipients python3 "$HERE/smtp_checks.py" recipients --port "$PORT" --cafile "$WORK/scaled.pem" --scale 8640

# ---- 4. curl ------------------------------------------------------------------------
# Each curl: one session, well under a second.
CURL=(curl -sS --max-time 20 --ssl-reqd --cacert "$CERT" --url "smtp://127.0.0.1:$MAIN_PORT"
	--mail-rcpt someone@fabrikam.com)
msg "$WORK/curl.eml" curl@contoso.com curl-1@clients.test
"${CURL[@]}" --mail-from curl@contoso.com -u curl@contoso.com:pw -T "$WORK/curl.eml" >"$WORK/curl.txt" 2>&1
rc=$?
check "curl: --ssl-reqd, AUTH LOGIN -> exit 0" [ "$rc" = 0 ]
check "curl: the record has the message, 250 at end_of_data" \
	record_has "$REC" '"message_id":"curl-1@clients.test"' '"mailbox":"curl@contoso.com"' '"code":250,"enhanced":"2.0.0"'

msg "$WORK/oauth.eml" oauth@contoso.com curl-oauth@clients.test
TOKEN=$("$BIN" token oauth@contoso.com --token-key "$WORK/main.key")
"${CURL[@]}" -v --mail-from oauth@contoso.com -u oauth@contoso.com: --oauth2-bearer "$TOKEN" \
	-T "$WORK/oauth.eml" >"$WORK/curl-oauth.txt" 2>&1
rc=$?
check "curl: AUTH XOAUTH2 with a token from 'throttlesim token' -> 235 2.7.0, exit 0" \
	bash -c "[ $rc = 0 ] && grep -v '^[{}*]' '$WORK/curl-oauth.txt' | grep -A3 '^> AUTH XOAUTH2' | grep -q '^< 235 2.7.0 '"
check "curl: the record has the XOAUTH2 message, 250" \
	record_has "$REC" '"message_id":"curl-oauth@clients.test"' '"code":250'
OTHER=$("$BIN" token other@contoso.com --token-key "$WORK/main.key")
"${CURL[@]}" -v --mail-from oauth@contoso.com -u oauth@contoso.com: --oauth2-bearer "$OTHER" \
	-T "$WORK/oauth.eml" >"$WORK/curl-other.txt" 2>&1
rc=$?
# curl: a refused login is CURLE_LOGIN_DENIED (67)
check "curl: a token for another mailbox -> 535 5.7.139 at AUTH (exit 67)" \
	bash -c "[ $rc = 67 ] && grep -v '^[{}*]' '$WORK/curl-other.txt' | grep -A3 '^> AUTH XOAUTH2' | grep -q '^< 535 5.7.139 '"

# ---- 5. Postfix as a relay, serve its smarthost ------------------------------------------
# A private Postfix instance: its own config_directory, queue_directory and
# data_directory under $WORK, started and stopped with `postfix -c DIR`;
# the system's /etc/postfix is never read for settings nor written.  The
# daemons still run as the system's postfix user and postdrop group.
#
# The relay mailbox takes one submission at a time
# (max_concurrent_connections: 1, checked at end of data).  Alone, that
# would refuse a delivery only when two of Postfix's parallel deliveries
# happen to be between DATA and its reply in the same millisecond or so: a
# race.  So its message rate is also 1 per second in tarpit mode: a
# submission over the rate is held up to 1 s before its 250, and it stays
# in progress while held, so the other deliveries that reach their end of
# data meanwhile get 432 4.3.2 for certain.  Postfix defers those and
# retries them from its deferred queue.
cat >"$WORK/relay.yaml" <<'EOF'
name: clients-relay
start: 2026-06-01T00:00:00Z
duration: 1d
tenant: {licenses: 10}
mailboxes:
  - {name: relay@contoso.com, password: pw, limits: {max_concurrent_connections: 1, message_rate_limit: 1/1s, message_rate_mode: tarpit}}
limits: {preset: exchange-online, concurrency_check: end_of_data}
EOF
start_serve relay "$WORK/relay.yaml"
RELAY_PORT=$PORT
RREC=$WORK/relay.jsonl
echo "serve (relay) on 127.0.0.1:$RELAY_PORT"

PF=$WORK/pf
# the queue directory root-owned (Postfix creates its subdirectories at
# start), the data directory the postfix user's
mkdir -m 0755 "$PF" "$PF/etc" "$PF/spool" "$PF/data"
chown postfix "$PF/data" 2>/dev/null
# A free port for the instance's own smtpd (loopback only); the small race
# between closing it here and Postfix binding it is harmless on a test box.
PF_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$PF/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/spool
data_directory = $PF/data
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
daemon_directory = /usr/lib/postfix/sbin
command_directory = /usr/sbin
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-clients
maillog_file = $PF/maillog
maillog_file_prefixes = $PF/
myhostname = relay.clients.test
mydomain = clients.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
local_transport = error:no local delivery here
alias_maps =
alias_database =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
biff = no
# serve as the smarthost: STARTTLS required, its certificate as the CA,
# AUTH LOGIN as the relay mailbox
relayhost = [127.0.0.1]:$RELAY_PORT
smtp_helo_name = relay.clients.test
smtp_tls_security_level = encrypt
smtp_tls_CAfile = $WORK/relay.pem
smtp_tls_loglevel = 1
smtp_sasl_auth_enable = yes
smtp_sasl_password_maps = texthash:$PF/etc/sasl_passwd
smtp_sasl_security_options = noanonymous
smtp_sasl_tls_security_options = noanonymous
smtp_sasl_mechanism_filter = login
# retries within seconds, not the default 5 to 67 minutes
queue_run_delay = 1s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
# parallel deliveries to the smarthost from the start (5 is the default)
initial_destination_concurrency = 5
smtp_connection_cache_on_demand = no
# held until all messages are queued, then delivered at once
defer_transports = smtp
EOF
cat >"$PF/etc/master.cf" <<EOF
127.0.0.1:$PF_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
printf '[127.0.0.1]:%s relay@contoso.com:pw\n' "$RELAY_PORT" >"$PF/etc/sasl_passwd"
chmod 0600 "$PF/etc/sasl_passwd"

PFC=(-c "$PF/etc")
if [ "$(id -u)" != 0 ]; then
	# master must be root to run its daemons as the postfix user
	bad "postfix: a private Postfix instance needs root (run the suite as root, as CI does)"
elif /usr/sbin/postfix "${PFC[@]}" start >"$WORK/postfix-start.txt" 2>&1; then
	PF_STARTED=$PF/etc
	ok "postfix: private instance started (config, queue and data under the temp dir)"
else
	# the postfix command reports to a terminal or the log, not to a pipe
	bad "postfix: private instance did not start:"
	sed 's/^/     /' "$WORK/postfix-start.txt" "$PF/maillog" 2>/dev/null
fi

if [ -n "$PF_STARTED" ]; then
	# Six messages: three by Postfix's sendmail, three by its smtpd port.
	# defer_transports holds them; waits at most 10 s for all six queued.
	NPF=6
	for i in 1 2 3; do
		msg "$WORK/pf-$i.eml" relay@contoso.com "postfix-$i@clients.test"
		/usr/sbin/sendmail -C "$PF/etc" -f relay@contoso.com -i someone@fabrikam.com <"$WORK/pf-$i.eml" ||
			bad "postfix: sendmail -C could not queue message $i"
	done
	python3 - "$PF_PORT" >"$WORK/pf-smtpd.txt" 2>&1 <<'EOF' || bad "postfix: its smtpd did not take the messages: $(tail -n 1 "$WORK/pf-smtpd.txt")"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
for i in (4, 5, 6):
    mid = "postfix-%d@clients.test" % i
    s.sendmail("relay@contoso.com", ["someone@fabrikam.com"],
               "From: relay@contoso.com\r\nTo: someone@fabrikam.com\r\nSubject: via smtpd\r\n"
               "Message-ID: <%s>\r\n\r\nA message through Postfix's smtpd.\r\n" % mid)
s.quit()
EOF
	for i in $(seq 100); do
		n=$(/usr/sbin/postqueue "${PFC[@]}" -j 2>/dev/null | grep -c '"queue_name"')
		[ "$n" -ge "$NPF" ] && break
		sleep 0.1
	done
	check "postfix: $NPF messages queued (sendmail -C x3, its smtpd x3)" [ "$n" -ge "$NPF" ]

	# Release: deliveries in parallel, then retries every 2-4 s; waits at
	# most 60 s for the six 250s (about 10-15 s here).
	# (held, then released into the deferred queue all at once: the next
	# deferred-queue scan, within queue_run_delay, takes all six together,
	# and later tries follow the backoff; a `postqueue -f` flush would
	# instead retry some at once during its scan)
	/usr/sbin/postsuper "${PFC[@]}" -h ALL 2>/dev/null
	/usr/sbin/postconf "${PFC[@]}" -e 'defer_transports =' &&
		/usr/sbin/postfix "${PFC[@]}" reload >/dev/null 2>&1 &&
		sleep 1 && /usr/sbin/postsuper "${PFC[@]}" -H ALL 2>/dev/null
	t0=$(date +%s)
	for i in $(seq 600); do
		acc=$(grep -F '"ev":"message"' "$RREC" | grep -F '"code":250' | grep -oE '"message_id":"postfix-[0-9]@clients.test"' | sort -u | wc -l)
		left=$(/usr/sbin/postqueue "${PFC[@]}" -j 2>/dev/null | grep -c '"queue_name"')
		[ "$acc" -ge "$NPF" ] && [ "$left" = 0 ] && break
		sleep 0.1
	done
	echo "     (Postfix: all delivered after $(($(date +%s) - t0)) s)"
	check "postfix: every relayed message accepted by serve (250 2.0.0 in the record, once each)" \
		[ "$(grep -F '"ev":"message"' "$RREC" | grep -F '"code":250,"enhanced":"2.0.0"' | grep -oE '"message_id":"postfix-[0-9]@clients.test"' | sort | uniq -c | awk '$1 == 1' | wc -l)" = "$NPF" ]
	check "postfix: its queue is empty" [ "$left" = 0 ]
	n432=$(grep -F '"ev":"message"' "$RREC" | grep -F '"stage":"end_of_data","code":432,"enhanced":"4.3.2"' | grep -c '"message_id":"postfix-')
	check "postfix: parallel deliveries met 432 4.3.2 at end of data ($n432 times)" [ "$n432" -ge 1 ]
	ndef=$(grep -c 'status=deferred.*432 4.3.2' "$PF/maillog" 2>/dev/null)
	check "postfix: its log shows the 432s deferred ($ndef, as many as serve gave)" [ "$ndef" = "$n432" ]
	# the retry schedule, per Message-ID: seconds since serve started, and the code
	echo "     retry schedule (Message-ID: wall s:code ...):"
	for i in $(seq "$NPF"); do
		printf '       postfix-%s:' "$i"
		grep -F '"ev":"message"' "$RREC" | grep -F "\"message_id\":\"postfix-$i@clients.test\"" |
			sed -E 's/.*"wall_ns":([0-9]+).*"code":([0-9]+).*/\1 \2/' |
			awk '{ printf " %.1f:%s", $1 / 1e9, $2 } END { print "" }'
	done
	retried=$(grep -F '"ev":"message"' "$RREC" | grep -oE '"message_id":"postfix-[0-9]@clients.test".*"code":(432|250)' |
		sed -E 's/"message_id":"([^"]*)".*"code":([0-9]+)/\1 \2/' |
		awk '$2 == 432 { r[$1] = 1 } $2 == 250 && r[$1] { n++ } END { print n + 0 }')
	check "postfix: messages refused with 432 were later accepted on a retry ($retried)" [ "$retried" -ge 1 ]
fi

# ---- every serve still up: none crashed or hung up on its clients -----------------
for i in "${!SERVE_PIDS[@]}"; do
	if kill -0 "${SERVE_PIDS[$i]}" 2>/dev/null; then
		ok "serve ${SERVE_NAMES[$i]}: still running at the end"
	else
		wait "${SERVE_PIDS[$i]}"
		bad "serve ${SERVE_NAMES[$i]}: exited early, status $? ($(tail -n 3 "$WORK/${SERVE_NAMES[$i]}.err" | tr '\n' ' '))"
	fi
done

echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" = 0 ]
