#!/usr/bin/env bash
# sip-calls.sh — `ramal serve` under the reference SIP and RTP benchmarks in
# ../shared/bench/sip, against kamailio and sipp in the same run (ratios, not absolutes).
#
#   benches/sip-calls.sh signalling [sip-compare.sh options]   # sipp uac ladder: max clean CPS, CPU/call
#   benches/sip-calls.sh media [rtp-load.sh options]           # N concurrent calls with RTP: CPU/call
#
# Every call runs benches/flows/answer-and-wait.json: answer with SDP, open an RTP session,
# play a prompt (a file, decoded once) while listening for a key, store the call record in
# SQLite when it ends. sipp is one source sending every call, so the per-source flood
# guard is raised out of the way (as for a carrier trunk). Needs Debian's sip-tester, kamailio, espeak-ng, sox (apt-get install).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${RAMAL_BENCH_DIR:-$ROOT/../shared/bench}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ramal/target}
MODE=${1:-signalling}
shift || true

cargo build --release -p ramal
WORK=$(mktemp -d -t ramal-sip-bench.XXXXXX)
mkdir -p "$WORK/flows" "$WORK/prompts"
cp "$ROOT/benches/flows/answer-and-wait.json" "$WORK/flows/"
espeak-ng -v pt-br -w "$WORK/prompts/bench.wav" \
  "Obrigado por ligar. Todos os nossos atendentes estão ocupados. Aguarde, por favor."

# Each server started by the bench scripts gets a fresh database (first start imports the flow).
cat > "$WORK/ramal.sh" <<SCRIPT
#!/usr/bin/env bash
data=\$(mktemp -d -p "$WORK" data.XXXXXX)
export RAMAL_ADMIN_PASSWORD=bench-only-password RUST_LOG=warn
exec "$CARGO_TARGET_DIR/release/ramal" serve --http 127.0.0.1:0 --data-dir "\$data" \
  --flows "$WORK/flows" --prompts "$WORK/prompts" --default-flow answer-and-wait \
  --sip "127.0.0.1:\$1" --rtp-ports 30000-59999 --max-calls 5000 --sip-rate-limit 50000
SCRIPT
chmod +x "$WORK/ramal.sh"
echo "ramal under test: $WORK/ramal.sh <port>  (work dir $WORK)"

case $MODE in
  signalling)
    "$BENCH/sip/sip-compare.sh" --targets "${TARGETS:-kamailio-tm sipp-uas ours}" \
      --cmd "$WORK/ramal.sh {port}" "$@" ;;
  media)
    "$BENCH/sip/rtp-load.sh" --target cmd --cmd "$WORK/ramal.sh {port}" "$@" ;;
  *) echo "usage: $0 signalling|media [options]" >&2; exit 2 ;;
esac
