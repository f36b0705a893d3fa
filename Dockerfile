# Gatehouse in a container: the packed package, installed as a user would install it, running
# the gatehouse command (no launcher in between, so `docker stop` and `docker kill -s HUP` reach it).

# Build stage: compile and pack, as `npm publish` would.
FROM node:24-alpine AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build && npm pack --ignore-scripts --pack-destination /tmp

FROM node:24-alpine
COPY --from=build /tmp/gatehouse-*.tgz /tmp/
RUN npm install -g --no-audit --no-fund /tmp/gatehouse-*.tgz && rm /tmp/gatehouse-*.tgz && npm cache clean --force
# The example config; mount your own over it.
COPY examples/docker/gatehouse.json /etc/gatehouse/gatehouse.json
USER node
# The proxy port, and the admin API's (admin.port in the config).
EXPOSE 8080 9901
# /health answers 503 from the moment a drain starts, and 200 while serving.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9901/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains for up to drainTimeout (30 s by default): give docker stop as long (-t 35).
STOPSIGNAL SIGTERM
CMD ["gatehouse", "--host", "0.0.0.0", "--port", "8080", "/etc/gatehouse/gatehouse.json"]
