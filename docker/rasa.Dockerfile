# The Rasa 3.6.21 server (Python 3.10) with supportbot's Rasa project and everything Rasa loads (rasa_plugins/).
# Build from the repository root:  docker build -f docker/rasa.Dockerfile -t supportbot-rasa .
# At start it trains the model when the training data changed (Rasa's cache makes an unchanged
# retrain a quick no-op) and serves it; see docker/rasa-start.sh.
FROM python:3.10-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    SUPPORTBOT_VAR_DIR=/app/var \
    RASA_CACHE_DIRECTORY=/app/models/cache \
    RASA_TELEMETRY_ENABLED=false

WORKDIR /app
RUN useradd --create-home --uid 1000 supportbot

COPY requirements/rasa.txt requirements/rasa.lock requirements/
RUN pip install --upgrade pip==23.2.1 setuptools wheel \
 && pip install -r requirements/rasa.txt -c requirements/rasa.lock

# supportbot's channel, tracker store, lock store and NLU components (config.yml, credentials.yml, endpoints.yml)
COPY rasa_plugins rasa_plugins
COPY config.yml domain.yml credentials.yml ./
COPY data/nlu data/nlu
COPY data/rules.yml data/stories.yml data/
# Inside compose the action server is `actions` and the tracker store is the postgres service.
COPY docker/endpoints.yml endpoints.yml
COPY docker/rasa-start.sh /usr/local/bin/rasa-start
RUN chmod 755 /usr/local/bin/rasa-start \
 && mkdir -p /app/var /app/models \
 && chown -R supportbot:supportbot /app/var /app/models

USER supportbot
EXPOSE 5005
CMD ["rasa-start"]
