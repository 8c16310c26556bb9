#!/bin/sh
# Train the demo model if its inputs changed (Rasa's graph cache in $RASA_CACHE_DIRECTORY turns an
# unchanged retrain into cache hits), then serve it with the HTTP API the bot service uses.
set -eu
cd /app
rasa train --config config.yml --domain domain.yml \
  --data data/nlu data/rules.yml data/stories.yml \
  --out models --fixed-model-name supportbot
exec rasa run --enable-api --interface 0.0.0.0 --port 5005 \
  --endpoints endpoints.yml --credentials credentials.yml --model models/supportbot.tar.gz
