# codebrain/train: codebrain-train (and codebrain-simulate / -prepare / -eval) for GPU machines.
#   docker run --rm --gpus all --shm-size 8g -v /data:/data codebrain/train:VERSION \
#       codebrain-train stage1 --config small --data /data/train --output /data/runs/stage1
#   docker run --rm --gpus all --shm-size 8g -v /data:/data codebrain/train:VERSION \
#       torchrun --nproc-per-node 4 -m codebrain.train stage1 --config paper-brats ...
# The GPU image: docker/build.sh --gpu train (an NVIDIA CUDA runtime base and the CUDA torch wheel);
# the default CPU base proves the recipe where no GPU is present.
ARG BASE=debian:bookworm-slim
FROM ${BASE} AS build
# labelled like the final image so docker/build.sh can prune this stage once it is copied from
LABEL org.opencontainers.image.source="https://github.com/codebrain-mri/codebrain"
ARG WHEELS=docker/.wheels
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv
COPY ${WHEELS} /tmp/wheels
COPY setup.cfg pyproject.toml README.md /src/
COPY codebrain /src/codebrain
COPY bids_app /src/bids_app
RUN python3 -m venv /opt/codebrain \
    && /opt/codebrain/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheels \
        -r /tmp/wheels/train.lock \
    && /opt/codebrain/bin/pip install --no-cache-dir --no-index --no-deps --no-build-isolation /src

FROM ${BASE}
ARG VERSION=dev
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 codebrain
COPY --from=build /opt/codebrain /opt/codebrain
ENV PATH=/opt/codebrain/bin:$PATH HOME=/tmp PYTHONDONTWRITEBYTECODE=1 CODEBRAIN_CACHE=/tmp/codebrain-cache \
    CODEBRAIN_CONTAINER=codebrain/train:${VERSION}
WORKDIR /tmp
USER codebrain
LABEL org.opencontainers.image.title="codebrain/train" \
      org.opencontainers.image.description="CodeBrain training: codebrain-train, torchrun, codebrain-eval" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="https://github.com/codebrain-mri/codebrain"
CMD ["codebrain-train", "--help"]
