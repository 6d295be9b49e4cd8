#!/usr/bin/env bash
# `make run`: the demo on http://127.0.0.1:3000. Loads the Kentucky demo (as the owner role) into
# the private cluster, starts the fake SMS carrier (the SMS provider's stand-in) and serves (as
# the runtime role). E-mail goes to the development mailbox; texts to the fake carrier.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/db.sh)"
# The state identity provider's stand-in (the same OpenID Connect provider the tests use):
# residents and partners sign in through it. Any user name works on its screen.
export WRAPAROUND_OIDC_ISSUER=http://127.0.0.1:3102 WRAPAROUND_OIDC_CLIENT_ID=wraparound
export WRAPAROUND_OIDC_CLIENT_SECRET=e2e-client-secret WRAPAROUND_OIDC_REGISTRATION_URL=http://127.0.0.1:3102/register
OIDC_PORT=3102 OIDC_REDIRECT=http://127.0.0.1:3000/auth/oidc/callback node end2end/support/oidc-provider.mjs >/dev/null &
provider=$!
carrier=
trap 'kill $provider $carrier 2>/dev/null || true' EXIT
target/release/server seed-demo
source scripts/serve-env.sh
export WRAPAROUND_DEV_MAILBOX=1
export WRAPAROUND_SMS_URL=http://127.0.0.1:3105 WRAPAROUND_SMS_ACCOUNT=AC0000000000000000000000000000demo
export WRAPAROUND_SMS_TOKEN=demo-sms-token WRAPAROUND_SMS_FROM=+15025550000
target/release/server fake-sms-carrier --port 3105 --dir target/demo-sms \
  --webhook http://127.0.0.1:3000/sms/inbound >/dev/null &
carrier=$!
echo "No mail server or SMS provider here: e-mail the demo sends shows at http://127.0.0.1:3000/dev/mailbox,"
echo "texts at http://127.0.0.1:3105 (where you can also reply STOP as a resident's phone)."
echo "Sign in with the identity provider (http://127.0.0.1:3102, any user name works) from /sign-in:"
echo "as amy.brand@demo.wraparound.example you are Amy Brand, a resident, in My Plan."
target/release/server serve
