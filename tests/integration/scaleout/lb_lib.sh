# Shared by the tests that put Debian's haproxy (deploy/haproxy.cfg) in front
# of several teerexd: scaleout_test.sh and ops/rolling_test.sh (sourced).
# shellcheck shell=bash
# LB_PID is read by the scripts that source this file.
# shellcheck disable=SC2034

# write_fake_bb FILE DELAY: a fake prover for `bb prove ... --ivc_inputs_path
# IN -o DIR` that writes sha256(IN) twice as a 2-field proof after DELAY
# seconds (a number, or a file holding one: teerexd gives bb a clean
# environment), and answers --version.
write_fake_bb() {
  local delay=$2
  [ -f "$delay" ] && delay="\$(cat $delay)"
  cat >"$1" <<EOF
#!/bin/sh
in=""; out=""
while [ \$# -gt 0 ]; do
  case "\$1" in
    --ivc_inputs_path) in=\$2; shift ;;
    -o) out=\$2; shift ;;
    --version) echo "fake-bb 0.0.0"; exit 0 ;;
  esac
  shift
done
[ -n "\$in" ] && [ -n "\$out" ] || exit 2
mkdir -p "\$out"
sleep "$delay"
h=\$(openssl dgst -sha256 -binary "\$in" | od -An -tx1 -v | tr -d ' \n')
printf '%s%s' "\$h" "\$h" | sed 's/../\\\\x&/g' | xargs -0 printf > "\$out/proof"
EOF
  chmod +x "$1"
}

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# start_lb PUBLIC_PORT STATS_PORT PROVER1 PROVER2 PROVER3 LOG: haproxy in the
# background; LB_PID is its pid.
start_lb() {
  env TEEREX_LB_BIND="127.0.0.1:$1" TEEREX_LB_STATS="127.0.0.1:$2" \
    TEEREX_PROVER1="$3" TEEREX_PROVER2="$4" TEEREX_PROVER3="$5" \
    haproxy -db -f "$TR_SOURCE_DIR/deploy/haproxy.cfg" >"$6" 2>&1 &
  LB_PID=$!
}
# stats: the CSV of the stats page on LB_STATS_PORT
stats() { curl -fsS "http://127.0.0.1:$LB_STATS_PORT/stats;csv" 2>/dev/null; }
# served NAME: stot (column 8) of a backend server line
served() { stats | awk -F, -v s="$1" '$1=="teerex_provers" && $2==s {print $8}'; }
# status_of NAME: UP, DOWN, ... (column 18)
status_of() { stats | awk -F, -v s="$1" '$1=="teerex_provers" && $2==s {print $18}'; }
# wait_up N: N servers UP within 30 s
wait_up() {
  for _ in $(seq 150); do
    [ "$(stats | awk -F, '$1=="teerex_provers" && $18=="UP"' | wc -l)" -ge "$1" ] && return 0
    sleep 0.2
  done
  stats >&2 || true
  return 1
}
