# supportbot's Python 3.11 image: the action server (`python -m actions`), the bot service
# (`python -m bot.serve`) and the one-shot `prepare` step (ONNX encoder export, KB index).
# Build from the repository root:  docker build -f docker/app.Dockerfile -t supportbot-app .
# GPU FAISS:  --build-arg WITH_GPU=1 (swaps faiss-cpu for faiss-gpu-cu12; run with the NVIDIA
# container toolkit and the GPU reservation in docker-compose.yml, SUPPORTBOT_FAISS_DEVICE=gpu).
FROM python:3.11-slim

ARG WITH_GPU=0
# CPU wheels of torch keep the image small; a GPU build can point this at a CUDA index.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    SUPPORTBOT_VAR_DIR=/app/var

WORKDIR /app
RUN useradd --create-home --uid 1000 supportbot

# Dependencies first (pinned by the lock file), so code changes don't reinstall them.
COPY requirements/main.txt requirements/main.lock requirements/
RUN pip install --extra-index-url "$TORCH_INDEX" -r requirements/main.txt -c requirements/main.lock \
 && if [ "$WITH_GPU" = "1" ]; then pip uninstall -y faiss-cpu && pip install faiss-gpu-cu12; fi

COPY pyproject.toml README.md ./
COPY core core
COPY rasa_plugins rasa_plugins
COPY bot bot
COPY actions actions
COPY retrieval retrieval
COPY finetune finetune
COPY nlu nlu
COPY config.yml domain.yml endpoints.yml credentials.yml ./
COPY data data
RUN pip install --no-deps --no-build-isolation -e . \
 && mkdir -p /app/var /app/models \
 && chown -R supportbot:supportbot /app/var /app/models

USER supportbot
EXPOSE 5055 8000
CMD ["python", "-m", "actions"]
