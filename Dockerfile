# The HallTwin node: Python service plus the three.js viewer's npm packages.
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm espeak-ng \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY twin twin
COPY bim_models bim_models
COPY iot_gateway iot_gateway
COPY monitoring monitoring
COPY alarms alarms
COPY broadcast broadcast
COPY api api
COPY web_viewer/package.json web_viewer/package-lock.json web_viewer/
RUN cd web_viewer && npm ci --omit=dev --no-audit --no-fund
COPY web_viewer web_viewer
RUN pip install --no-cache-dir .
EXPOSE 8000
ENTRYPOINT ["halltwin"]
CMD ["demo"]
