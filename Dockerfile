# syntax=docker/dockerfile:1
# Images of Portcullis (one build, two targets):
#   docker build --target portcullis -t portcullis/portcullis:dev .   controller + proxy + CLI
#   docker build --target echo       -t portcullis/echo:dev .         the echo backend
# The controller and the proxy are two entry points of the one image; the install
# manifest (manifests/install/portcullis.yaml) runs each as a container of one Pod.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
# The prepare script compiles, and the sources are not here yet: compile below.
RUN npm ci --ignore-scripts
COPY bin ./bin
COPY src ./src
COPY suites ./suites
RUN npx tsc -p tsconfig.json \
 && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/suites ./dist/suites
COPY suites ./suites
COPY manifests ./manifests
# The node image's unprivileged user.
USER 1000:1000

FROM runtime AS echo
EXPOSE 1025 1026/udp 1027 1030 3000
ENTRYPOINT ["node", "/app/dist/src/echo/main.js"]

FROM runtime AS portcullis
EXPOSE 80 443 8899
ENTRYPOINT ["node", "/app/bin/portcullis.js"]
