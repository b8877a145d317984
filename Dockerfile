# The service on a machine without a GPU; compose.yml builds and runs it, and the Kubernetes
# manifests in deploy/k8s run the image it builds (README, "Leaving one machine").
#
#   web      Node builds the browser app (web/dist) and Swagger UI's assets (web/swaggerui).
#   python   The CPython 3.11 that compiles and runs the server, and the runtime's base.
#   build    /opt/venv with the locked packages and the stockagent package, and the Go server
#            compiled with cgo against that same interpreter.
#   runtime  The python stage with the venv and the binary, as a non-root user.
#
# The stages go, web, python and build are those of Dockerfile.cuda, instruction for instruction
# (deploy/deploytest checks it), so both images carry the same venv and server; see that file for
# why this CPython. Torch is the locked one: PyPI's Linux wheel, which pulls CUDA's libraries as
# wheels that stay unused on a CPU, so the lock stays the one source of every version.
#
# Read-only root file system: the process writes only to DATA_DIR (/data, a volume) and to /tmp
# (a tmpfs or emptyDir where the root is read-only; torch makes a folder there at import). HOME and
# the caches point there. The installed modules' bytecode is compiled when pip installs them, so the
# embedded interpreter (which ignores PYTHON* variables) finds it fresh; PYTHONDONTWRITEBYTECODE
# keeps a python run by hand in the container from trying to write more. Checked by running the
# server under strace through a training, a forecast and an analysis: no other path is written.

ARG NODE_IMAGE=node:22.20.0-bookworm
ARG GO_IMAGE=golang:1.26-bookworm
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${GO_IMAGE} AS go

FROM ${NODE_IMAGE} AS web
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.npm make web web/swaggerui/.stamp

FROM ${PYTHON_IMAGE} AS python

FROM python AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc g++ make cmake pkg-config \
 && rm -rf /var/lib/apt/lists/*
COPY --from=go /usr/local/go /usr/local/go
ENV PATH=/usr/local/go/bin:$PATH GOTOOLCHAIN=local
WORKDIR /src
RUN python3.11 -m venv /opt/venv
COPY Makefile ./
COPY pymodules/build-requirements.lock pymodules/requirements.lock pymodules/
RUN --mount=type=cache,target=/root/.cache/pip \
    /opt/venv/bin/pip install --progress-bar off --require-hashes -r pymodules/build-requirements.lock \
 && CMAKE_ARGS="$(make -s --no-print-directory --eval 'print-%: ; @echo $($*)' print-LLAMA_CMAKE_ARGS)" \
    CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    /opt/venv/bin/pip install --progress-bar off --require-hashes --no-build-isolation -r pymodules/requirements.lock
COPY . .
RUN /opt/venv/bin/pip install --progress-bar off --no-deps --no-build-isolation .
COPY --from=web /src/web/dist web/dist
COPY --from=web /src/web/swaggerui web/swaggerui
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    eval "$(/opt/venv/bin/python native/cgoflags.py)" \
 && go build -trimpath -ldflags "-X main.defaultPython=/opt/venv/bin/python" -o /out/stockagent-server ./server

FROM python AS runtime
# curl for the health checks; the interpreter's own libraries are already in this image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/venv /opt/venv
COPY --from=build /out/stockagent-server /usr/local/bin/stockagent-server
# Fail the build, not the first request, if the server would load another libpython than the one
# it was built against, or the venv misses a module.
RUN ldd /usr/local/bin/stockagent-server | grep -q '/usr/local/lib/libpython3.11' \
 && /opt/venv/bin/python -c 'import ssl, sqlite3, ctypes, lzma, bz2, uuid, torch, llama_cpp, stockagent.entries.forecast, stockagent.entries.agent'
RUN useradd --uid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin stockagent \
 && install -d -o stockagent -g stockagent /data /data/models
ENV PATH=/opt/venv/bin:$PATH DATA_DIR=/data HOST=0.0.0.0 PORT=8000 DEVICE=cpu \
    HOME=/tmp TMPDIR=/tmp XDG_CACHE_HOME=/tmp/cache MPLCONFIGDIR=/tmp/matplotlib PYTHONDONTWRITEBYTECODE=1
VOLUME /data
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=2m --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${PORT}/health" > /dev/null || exit 1
ENTRYPOINT ["/usr/local/bin/stockagent-server"]
