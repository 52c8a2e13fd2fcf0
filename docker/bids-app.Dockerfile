# codebrain/bids-app: the BIDS-App on CPU PyTorch, ANTs (antspyx) and the bundled models.
#   docker run --rm --user $(id -u):$(id -g) -v /data/study:/data:ro -v /data/out:/out \
#       codebrain/bids-app:VERSION /data /out participant
# Built by docker/build.sh, which fills docker/.wheels on the host first (no network in the build).
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
        -r /tmp/wheels/bids-app.lock \
    && /opt/codebrain/bin/pip install --no-cache-dir --no-index --no-deps --no-build-isolation /src

# the runtime image: the environment only, without the wheels and the build layers
FROM ${BASE}
ARG VERSION=dev
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 codebrain
COPY --from=build /opt/codebrain /opt/codebrain
# any --user uid must be able to write its caches and the default ./work
ENV PATH=/opt/codebrain/bin:$PATH HOME=/tmp MPLCONFIGDIR=/tmp/matplotlib \
    CODEBRAIN_CONTAINER=codebrain/bids-app:${VERSION} PYTHONDONTWRITEBYTECODE=1
WORKDIR /tmp
USER codebrain
LABEL org.opencontainers.image.title="codebrain/bids-app" \
      org.opencontainers.image.description="CodeBrain BIDS-App: synthesize missing MRI contrasts" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="https://github.com/codebrain-mri/codebrain"
ENTRYPOINT ["codebrain-bids"]
CMD ["--help"]
