# codebrain/map: the MONAI Deploy application (app/) in its own environment, laid out as a MAP:
# the app in /opt/holoscan/app, DICOM in from /var/holoscan/input, series out to /var/holoscan/output.
#   docker run --rm --user $(id -u):$(id -g) -v /pacs/study:/var/holoscan/input:ro \
#       -v /pacs/out:/var/holoscan/output codebrain/map:VERSION
# CPU by default; the GPU variant: docker/build.sh --gpu (an NVIDIA CUDA runtime base and CUDA torch).
# Built by docker/build.sh, which fills docker/.wheels-map on the host first (no network in the build).
ARG BASE=debian:bookworm-slim
FROM ${BASE} AS build
# labelled like the final image so docker/build.sh can prune this stage once it is copied from
LABEL org.opencontainers.image.source="https://github.com/codebrain-mri/codebrain"
ARG WHEELS=docker/.wheels-map
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv
COPY ${WHEELS} /tmp/wheels
COPY setup.cfg pyproject.toml README.md /src/
COPY codebrain /src/codebrain
COPY bids_app /src/bids_app
COPY app /src/app
WORKDIR /src
RUN python3 -m venv /opt/codebrain-map \
    && /opt/codebrain-map/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheels \
        -r /tmp/wheels/map.lock \
    && /opt/codebrain-map/bin/pip install --no-cache-dir --no-index --no-deps --no-build-isolation /src \
    && /opt/codebrain-map/bin/python -c "from app.runtime import load_cuda_runtime; load_cuda_runtime(); import holoscan"
# the import above lets holoscan's wheel finish installing itself (wheel-axle links its shared
# libraries on first import), which a non-root user could not do at run time

FROM ${BASE}
ARG VERSION=dev
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 codebrain \
    && mkdir -p /var/holoscan/input /var/holoscan/output /opt/holoscan/models \
    && chown codebrain /var/holoscan/output
COPY --from=build /opt/codebrain-map /opt/codebrain-map
COPY app /opt/holoscan/app/app
ENV PATH=/opt/codebrain-map/bin:$PATH HOME=/tmp PYTHONDONTWRITEBYTECODE=1 \
    HOLOSCAN_INPUT_PATH=/var/holoscan/input HOLOSCAN_OUTPUT_PATH=/var/holoscan/output \
    HOLOSCAN_MODEL_PATH=/opt/holoscan/models HOLOSCAN_WORKDIR=/tmp/holoscan \
    CODEBRAIN_CONTAINER=codebrain/map:${VERSION}
WORKDIR /opt/holoscan/app
USER codebrain
LABEL org.opencontainers.image.title="codebrain/map" \
      org.opencontainers.image.description="CodeBrain MONAI Deploy application: synthesized MR series for a DICOM study" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="https://github.com/codebrain-mri/codebrain"
ENTRYPOINT ["python3", "-m", "app"]
