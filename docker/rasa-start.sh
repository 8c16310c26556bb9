#!/bin/sh
# Train the demo model if its inputs changed (Rasa's graph cache in $RASA_CACHE_DIRECTORY turns an
# unchanged retrain into cache hits), then serve it with the HTTP API the bot service uses.
set -eu
cd /app
rasa train --config config.yml --domain domain.yml \
  --data data/nlu data/rules.yml data/stories.yml \
  --out models --fixed-model-name supportbot
# the HTTP API needs SUPPORTBOT_RASA_TOKEN (docker-compose passes it from .env; docs/security.md)
: "${SUPPORTBOT_RASA_TOKEN:?set SUPPORTBOT_RASA_TOKEN in .env (e.g. openssl rand -hex 32)}"
exec rasa run --enable-api --auth-token "$SUPPORTBOT_RASA_TOKEN" --interface 0.0.0.0 --port 5005 \
  --endpoints endpoints.yml --credentials credentials.yml --model models/supportbot.tar.gz
