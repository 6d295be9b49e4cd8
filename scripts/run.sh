#!/usr/bin/env bash
# `make run`: the demo on http://127.0.0.1:3000. Loads the Kentucky demo (as the owner role) into
# the private cluster, starts the fake SMS carrier (the SMS provider's stand-in) and serves (as
# the runtime role). E-mail goes to the development mailbox; texts to the fake carrier.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/db.sh)"
target/release/server seed-demo
source scripts/serve-env.sh
export WRAPAROUND_DEV_MAILBOX=1
export WRAPAROUND_SMS_URL=http://127.0.0.1:3105 WRAPAROUND_SMS_ACCOUNT=AC0000000000000000000000000000demo
export WRAPAROUND_SMS_TOKEN=demo-sms-token WRAPAROUND_SMS_FROM=+15025550000
target/release/server fake-sms-carrier --port 3105 --dir target/demo-sms \
  --webhook http://127.0.0.1:3000/sms/inbound >/dev/null &
carrier=$!
trap 'kill $carrier 2>/dev/null || true' EXIT
echo "No mail server or SMS provider here: e-mail the demo sends shows at http://127.0.0.1:3000/dev/mailbox,"
echo "texts at http://127.0.0.1:3105 (where you can also reply STOP as a resident's phone)."
target/release/server serve
