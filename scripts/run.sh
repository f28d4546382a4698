#!/usr/bin/env bash
# make run: Azurite + dev host + handler on this machine, stopped together on Ctrl-C.
# Called by `make run` after it has installed npm/Go dependencies and built .local/app.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
state=$root/.local
# The logs and ready files hold the dev host's keys and the simulator's app
# secrets: everything created here is for this user only (files 0600,
# folders 0700), including what an earlier run left.
umask 077
mkdir -p "$state/azurite" "$state/run" "$state/bin"
chmod 700 "$state" "$state/run"
find "$state/run" -maxdepth 1 -type f -exec chmod 600 {} +

BLOB_PORT=${AZURITE_BLOB_PORT:-10000}
QUEUE_PORT=${AZURITE_QUEUE_PORT:-10001}
TABLE_PORT=${AZURITE_TABLE_PORT:-10002}
API_ADDR=${DEVHOST_ADDR:-127.0.0.1:7071}
DEMO_RECORDS=${DEMO_RECORDS:-1000}

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo "stopping..." >&2
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped." >&2
}
trap 'cleanup; exit 130' INT TERM
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$BLOB_PORT" "$QUEUE_PORT" "$TABLE_PORT"; do
  if port_open "$p"; then
    echo "port $p is already in use (another Azurite?). Stop it or set AZURITE_BLOB_PORT/AZURITE_QUEUE_PORT/AZURITE_TABLE_PORT." >&2
    exit 1
  fi
done

echo "starting Azurite (data in .local/azurite) ..." >&2
node_modules/.bin/azurite --silent --skipApiVersionCheck --loose --disableTelemetry --location "$state/azurite" \
  --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
  --blobPort "$BLOB_PORT" --queuePort "$QUEUE_PORT" --tablePort "$TABLE_PORT" >"$state/run/azurite.log" 2>&1 &
pids+=($!)
for i in $(seq 1 100); do
  port_open "$BLOB_PORT" && port_open "$QUEUE_PORT" && port_open "$TABLE_PORT" && break
  sleep 0.1
done
port_open "$TABLE_PORT" || { echo "Azurite did not start; see .local/run/azurite.log" >&2; exit 1; }

# The Dataverse simulator (TLS) with the seeded demo organization; its state
# and ports survive restarts (-state, fixed -addr), so the registered
# environment and its backups stay usable across make run.
SIM_ADDR=${DATAVERSE_SIM_ADDR:-127.0.0.1:7443}
echo "starting the Dataverse simulator on $SIM_ADDR ($DEMO_RECORDS records) ..." >&2
go build -o "$state/bin/dataverse-sim" ./cmd/dataverse-sim
go build -o "$state/bin/firstbackup" ./cmd/firstbackup
rm -f "$state/run/dataverse-sim.json"
"$state/bin/dataverse-sim" -addr "$SIM_ADDR" -records "$DEMO_RECORDS" -seed "${DEMO_SEED:-1}" -limits "${DATAVERSE_SIM_LIMITS:-default}" \
  -ca-out "$state/run/dataverse-ca.pem" -state "$state/dataverse-sim-state.json" \
  >"$state/run/dataverse-sim.json" 2>"$state/run/dataverse-sim.log" &
pids+=($!)
for i in $(seq 1 300); do [ -s "$state/run/dataverse-sim.json" ] && break; sleep 0.1; done
if [ ! -s "$state/run/dataverse-sim.json" ]; then
  echo "the simulator did not start; its log:" >&2; tail -20 "$state/run/dataverse-sim.log" >&2; exit 1
fi
sim=$(head -1 "$state/run/dataverse-sim.json")
simfield() { sed -E 's/.*"'"$1"'":"([^"]+)".*/\1/' <<<"$sim"; }
dv_url=$(simfield dataverseUrl)
export DATAVERSE_EXTRA_CA_FILE="$state/run/dataverse-ca.pem"
export DATAVERSE_ALLOWED_HOSTS="${dv_url#https://}"
export ENTRA_AUTHORITY_HOST=$(simfield authorityHost)
export DATAVERSE_DISCOVERY_URL=$(simfield globalDiscoveryUrl)
export POWERPLATFORM_ADMIN_URL=$(simfield powerPlatformAdminUrl)
export GRAPH_URL=$(simfield graphUrl)
# The function key (printed below) is the gate, as in Azure without Easy Auth.
export API_AUTHORIZATION=${API_AUTHORIZATION:-functionkey}
export LOCAL_SECRETS_DIR=${LOCAL_SECRETS_DIR:-$state/secrets}

key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
export AzureWebJobsStorage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$BLOB_PORT/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$QUEUE_PORT/devstoreaccount1;TableEndpoint=http://127.0.0.1:$TABLE_PORT/devstoreaccount1;"
export MESSAGING_TRANSPORT=storagequeue
export BACKUP_SCHEDULE=${BACKUP_SCHEDULE:-0 0 2 * * *}
export RETENTION_SCHEDULE=${RETENTION_SCHEDULE:-0 30 3 * * *}
export LOG_LEVEL=${LOG_LEVEL:-info}

rm -f "$state/run/devhost.json"
echo "starting the dev host and the handler ..." >&2
"$state/bin/devhost" -root "$state/app" -addr "$API_ADDR" -ready-file "$state/run/devhost.json" \
  >"$state/run/devhost.out" 2>"$state/run/devhost.log" &
pids+=($!)
for i in $(seq 1 200); do [ -s "$state/run/devhost.json" ] && break; sleep 0.1; done
if [ ! -s "$state/run/devhost.json" ]; then
  echo "the dev host did not start; its log:" >&2; tail -20 "$state/run/devhost.log" >&2; exit 1
fi
ready=$(cat "$state/run/devhost.json")
api=$(sed -E 's/.*"apiBaseUrl":"([^"]+)".*/\1/' <<<"$ready")
fkey=$(sed -E 's/.*"functionKey":"([^"]+)".*/\1/' <<<"$ready")
mkey=$(sed -E 's/.*"masterKey":"([^"]+)".*/\1/' <<<"$ready")

cat <<MSG
Cloud Backup for Dynamics 365 is running locally.
  API base URL : $api
  function key : $fkey      (header x-functions-key, or ?code=)
  master key   : $mkey      (POST ${api%/api}/admin/functions/<Name> runs a function now)
  health       : curl $api/health
  logs         : .local/run/devhost.log (host), .local/run/devhost.out (handler), .local/run/azurite.log (this user only: they hold the keys)
  requests.http: set @key to the function key; the ready file .local/run/devhost.json has both keys
Press Ctrl-C to stop everything.
MSG
curl -fsS "$api/health" || true
echo
echo "Dataverse simulator: $dv_url (demo organization, $DEMO_RECORDS records; log .local/run/dataverse-sim.log)"
if [ "${SKIP_FIRST_BACKUP:-0}" != 1 ]; then
  echo "registering the demo organization and running a first backup ..." >&2
  "$state/bin/firstbackup" -api "$api" -key "$fkey" -sim "$state/run/dataverse-sim.json" || echo "the first backup failed; see .local/run/devhost.out" >&2
fi
wait -n "${pids[@]}" || true
echo "a component exited; see the logs above" >&2
