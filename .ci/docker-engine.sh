# Sourced by .ci/run: make a Docker engine reachable when the machine can run one, so that the
# Redis tests use Testcontainers and the container stack test runs; stop what we started.
#
#   docker_engine_up    sets COLA_DOCKER=1 and exports DOCKER_HOST when an engine answers
#   docker_engine_down  stops the engine docker_engine_up started (nothing else)
#
# An engine that already answers (DOCKER_HOST, /var/run/docker.sock) is used as is. Otherwise,
# as root: Debian's docker.io is installed if missing, and dockerd is started with the vfs
# storage driver (works inside containers and VMs without overlayfs) on a socket and data root
# of its own. The data root persists, so a later run on the same machine reuses its images.

COLA_DOCKER=0
COLA_DOCKERD_PID=""
COLA_DOCKER_SOCK=/var/run/cola-ci-docker.sock
COLA_DOCKER_ROOT=/var/lib/cola-ci-docker

docker_answers() {
  timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

docker_engine_up() {
  if command -v docker >/dev/null 2>&1 && docker_answers; then
    COLA_DOCKER=1
    echo "docker: using the engine that already answers (${DOCKER_HOST:-/var/run/docker.sock})"
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "docker: no engine answers and we are not root: Redis tests use a local redis-server; the container stack test is skipped"
    return 0
  fi
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
    echo "docker: installing Debian's docker.io and debootstrap"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null; }; then
      echo "docker: could not install docker.io: Redis tests use a local redis-server; the container stack test is skipped"
      return 0
    fi
  fi
  # The Prometheus image takes Debian's binary: `apt-get download` needs the package lists.
  if [ ! -x /usr/bin/prometheus ]; then
    apt-get update -qq || true
  fi
  mkdir -p "$COLA_DOCKER_ROOT" /var/run/cola-ci-docker
  dockerd --storage-driver=vfs -H "unix://$COLA_DOCKER_SOCK" --data-root "$COLA_DOCKER_ROOT" \
    --exec-root /var/run/cola-ci-docker --pidfile /var/run/cola-ci-docker.pid >/tmp/cola-ci-dockerd.log 2>&1 &
  COLA_DOCKERD_PID=$!
  export DOCKER_HOST="unix://$COLA_DOCKER_SOCK"
  for _ in $(seq 1 60); do
    if docker_answers; then
      COLA_DOCKER=1
      echo "docker: started dockerd (pid $COLA_DOCKERD_PID, vfs) on $COLA_DOCKER_SOCK"
      return 0
    fi
    if ! kill -0 "$COLA_DOCKERD_PID" 2>/dev/null; then break; fi
    sleep 1
  done
  echo "docker: dockerd did not come up (log below): Redis tests use a local redis-server; the container stack test is skipped"
  tail -20 /tmp/cola-ci-dockerd.log || true
  docker_engine_down
  unset DOCKER_HOST
}

docker_engine_down() {
  if [ -n "$COLA_DOCKERD_PID" ] && kill -0 "$COLA_DOCKERD_PID" 2>/dev/null; then
    # Containers first (a failed run may have left some), then the engine itself.
    docker ps -q 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1 || true
    kill -TERM "$COLA_DOCKERD_PID"
    for _ in $(seq 1 30); do kill -0 "$COLA_DOCKERD_PID" 2>/dev/null || break; sleep 1; done
    kill -KILL "$COLA_DOCKERD_PID" 2>/dev/null || true
    echo "docker: stopped the dockerd we started"
  fi
  COLA_DOCKERD_PID=""
}
