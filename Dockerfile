# The drift monitor's image: mlinfra with its drift extra (numpy, aiohttp, prometheus-client) and pyarrow for
# .parquet reference samples; the entry point is `mlinfra drift serve`. mlinfra publishes no image: build it and
# push it to a registry your clusters pull from, then name it in the profile's monitoring.drift_image, e.g.
#   docker build -t registry.example.com/ml/mlinfra:0.1.0 . && docker push registry.example.com/ml/mlinfra:0.1.0
# It runs as the non-root user 65532 under a read-only root filesystem (the pod gives it /tmp), as the restricted
# Pod Security Standard of the model's namespace requires; the serving manifests set the same command.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/tmp

COPY . /src
RUN pip install "/src[drift]" "pyarrow>=15,<22" \
    && rm -rf /src \
    && mlinfra drift serve --help > /dev/null

USER 65532:65532
EXPOSE 8090 9102
ENTRYPOINT ["mlinfra", "drift", "serve"]
CMD ["--config", "/etc/mlinfra-drift/config.yaml"]
