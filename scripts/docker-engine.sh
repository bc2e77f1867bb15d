#!/usr/bin/env bash
# A Docker engine and the images for the container tests (docs/containers.md, docs/testing.md).
#
#   docker-engine.sh start   install docker.io when dockerd is missing (apt-get), start dockerd in the
#                            background when none answers (a running one is reused), wait until it answers
#                            (bounded), then build the test images (the default command)
#   docker-engine.sh stop    stop the dockerd this script started, and only that one
#   docker-engine.sh images  build the test images (the engine must answer)
#
# The images are made locally from Debian packages (no registry of images is needed): a root folder is
# packed with `docker import`. Each is tagged :$REV and built only when missing:
#
#   spyglass-test/tiny:$REV          busybox-static: Testcontainers' "tiny image" for its own checks
#                                    (TESTCONTAINERS_TINYIMAGE_CONTAINER_IMAGE), and /bin/sh for the others
#   spyglass-test/debian-3.11:$REV   Debian bookworm's python3.11 (libpython linked in statically), from
#                                    `apt-get download` of its minimal packages and their libraries
#   spyglass-test/debian-3.13:$REV   the Debian roots scripts/provision-pythons.sh provisions under
#   spyglass-test/debian-3.14:$REV   $SPYGLASS_CACHE/pythons (numpy, headers and BLAS left out),
#   spyglass-test/debian-3.15:$REV   each interpreter at /usr/bin/python3.X as Debian installs it
#   spyglass-test/pyenv-3.12:$REV    pyenv's 3.12.1 (a shared libpython3.12.so) at its own path, on the
#                                    3.11 image's bookworm libraries (when /root/.pyenv has it)
#
# dockerd runs with --iptables=false --bridge=none: the tests need no container network, and this way the
# engine leaves the host's firewall and interfaces alone. Its pid file, log and data stay in the cache
# folder ($SPYGLASS_CACHE/docker), so `stop` ends only the daemon it started.
#
# When the engine cannot be had (not root, no apt-get, install failed, dockerd did not answer), the script
# prints one line saying why, writes the reason to $SPYGLASS_CACHE/docker/engine.unavailable and exits 0: the
# container tests skip with that reason. A missing image is reported the same way, in <image>.unavailable.
set -uo pipefail
umask 022
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"

REV=1
CACHE=${SPYGLASS_CACHE:-$HOME/.cache/spyglass}
DIR=$CACHE/docker
PYDIR=$CACHE/pythons
PIDFILE=$DIR/dockerd.pid
READY_SECONDS=${SPYGLASS_DOCKER_READY_SECONDS:-60}
mkdir -p "$DIR"

log() { echo "docker-engine: $*" >&2; }
unavailable() { # file reason
  log "$1 unavailable: $2"
  printf '%s\n' "$2" > "$DIR/$1.unavailable"
}

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

# --- the engine ------------------------------------------------------------------------------------
install_engine() {
  command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -ne 0 ]; then
    unavailable engine "dockerd is not installed and installing it needs root (apt-get install docker.io)"
    return 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    unavailable engine "dockerd is not installed and this system has no apt-get"
    return 1
  fi
  log "installing docker.io (apt-get, about a minute) ..."
  if { apt-get install -y -q --no-install-recommends docker.io >"$DIR/apt.log" 2>&1 ||
       { apt-get update -q >>"$DIR/apt.log" 2>&1 &&
         apt-get install -y -q --no-install-recommends docker.io >>"$DIR/apt.log" 2>&1; }; } &&
     command -v dockerd >/dev/null 2>&1; then
    return 0
  fi
  unavailable engine "apt-get install docker.io failed (see $DIR/apt.log)"
  return 1
}

start_engine() {
  if engine_answers; then
    return 0 # someone's engine (or ours from an earlier run): reused, never stopped by us unless ours
  fi
  install_engine || return 1
  if [ "$(id -u)" -ne 0 ]; then
    unavailable engine "no Docker engine answers and starting dockerd needs root"
    return 1
  fi
  log "starting dockerd in the background (log: $DIR/dockerd.log) ..."
  # setsid: the daemon outlives this script and is not in the caller's process group (a Ctrl-C of the
  # test run does not reach it; `stop` ends it).
  setsid dockerd --iptables=false --bridge=none --pidfile "$PIDFILE" >"$DIR/dockerd.log" 2>&1 < /dev/null &
  local started=$! i
  for ((i = 0; i < READY_SECONDS; i++)); do
    if engine_answers; then
      echo "$started" > "$DIR/started-by-spyglass.pid"
      return 0
    fi
    if ! kill -0 "$started" 2>/dev/null; then
      unavailable engine "dockerd exited at start: $(tail -n 1 "$DIR/dockerd.log" 2>/dev/null) (see $DIR/dockerd.log)"
      return 1
    fi
    sleep 1
  done
  kill "$started" 2>/dev/null
  unavailable engine "dockerd did not answer within ${READY_SECONDS}s (see $DIR/dockerd.log)"
  return 1
}

stop_engine() {
  local f=$DIR/started-by-spyglass.pid pid i
  # Containers the tests left behind (a killed test JVM; no Ryuk reaper runs), on any engine: ours by label.
  if engine_answers; then
    docker ps -aq --filter label=dev.spyglass.test | xargs -r docker rm -f >/dev/null 2>&1
  fi
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  rm -f "$f"
  # Only the process we started, still a dockerd (its number may have been reused since).
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
    kill "$pid"
    for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 1; done
    log "dockerd $pid did not end within 30 s"
  fi
}

# --- the images ------------------------------------------------------------------------------------
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

import_root() { # image root-folder [tar options...]: packs the folder as the image's only layer
  local image=$1 root=$2; shift 2
  tar -C "$root" --numeric-owner "$@" -cf - . | docker import -c 'CMD ["/bin/sh"]' - "$image" >/dev/null
}

debian_download() { # folder packages...: apt-get download (hash-checked) and dpkg-deb -x into folder/root
  local d=$1; shift
  mkdir -p "$d/debs" "$d/root"
  (cd "$d/debs" && timeout 180 apt-get download "$@" >"$d/download.log" 2>&1 ||
     { [ "$(id -u)" -eq 0 ] && timeout 180 apt-get update -q >>"$d/download.log" 2>&1 &&
       timeout 180 apt-get download "$@" >>"$d/download.log" 2>&1; }) || return 1
  local deb
  for deb in "$d"/debs/*.deb; do dpkg-deb -x "$deb" "$d/root" || return 1; done
}

busybox_into() { # root: /bin/busybox and its applets sh, true, sleep, cat, ls, df
  local root=$1 a
  mkdir -p "$root/bin"
  cp "$WORK/busybox/root/bin/busybox" "$root/bin/busybox"
  for a in sh true sleep cat ls df id; do ln -sf busybox "$root/bin/$a"; done
}

IMAGES=(tiny debian-3.11 debian-3.13 debian-3.14 debian-3.15 pyenv-3.12)

build_images() {
  local n missing=0
  for n in "${IMAGES[@]}"; do have_image "spyglass-test/$n:$REV" || missing=1; done
  if [ "$missing" -eq 0 ]; then # the usual case: nothing to download
    for n in "${IMAGES[@]}" images; do rm -f "$DIR/$n.unavailable"; done
    return 0
  fi
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/spyglass-images-XXXXXX")
  trap 'rm -rf "$WORK"' RETURN
  local tiny=spyglass-test/tiny:$REV base=spyglass-test/debian-3.11:$REV v name image

  if ! debian_download "$WORK/busybox" busybox-static; then
    unavailable images "apt-get download busybox-static failed (see the log in the script's output)"
    return 1
  fi
  if ! have_image "$tiny"; then
    mkdir -p "$WORK/tiny/tmp"
    busybox_into "$WORK/tiny"
    import_root "$tiny" "$WORK/tiny" && log "built $tiny"
  fi
  have_image "$tiny" && rm -f "$DIR/tiny.unavailable" || unavailable tiny "docker import of $tiny failed"

  # Bookworm's python3.11: the minimal packages hold the interpreter (libpython linked in) and the
  # standard library's pure-Python core (threading, os, ...); the libraries are its Depends.
  if ! have_image "$base" || ! have_image "spyglass-test/pyenv-3.12:$REV"; then
    if debian_download "$WORK/py311" python3.11-minimal libpython3.11-minimal libc6 zlib1g libexpat1 libgcc-s1; then
      busybox_into "$WORK/py311/root"
      mkdir -p "$WORK/py311/root/tmp" "$WORK/py311/root/app"
      chmod 1777 "$WORK/py311/root/tmp"
      have_image "$base" || import_root "$base" "$WORK/py311/root" --exclude=./usr/share/doc --exclude=./usr/share/man \
        --exclude=./usr/share/locale && log "built $base"
    fi
  fi
  have_image "$base" && rm -f "$DIR/debian-3.11.unavailable" ||
    unavailable debian-3.11 "apt-get download of python3.11-minimal and its libraries, or docker import, failed"

  for v in 3.13 3.14 3.15; do
    image=spyglass-test/debian-$v:$REV
    name=$(cd "$PYDIR" 2>/dev/null && ls -d debian-*-"$v" 2>/dev/null | head -n1)
    if have_image "$image"; then rm -f "$DIR/debian-$v.unavailable"; continue; fi
    if [ -z "$name" ] || [ ! -f "$PYDIR/$name/.spyglass-provisioned" ]; then
      unavailable "debian-$v" "the Debian $v root is not provisioned (scripts/provision-pythons.sh; $(cat "$PYDIR"/debian-*-"$v".unavailable 2>/dev/null))"
      continue
    fi
    # A copy of the root with /bin/sh and /tmp added; numpy, C headers and the BLAS/Fortran libraries
    # (for the native-frame tests on the host) are left out to keep the image small.
    mkdir -p "$WORK/$v"
    tar -C "$PYDIR/$name" --exclude=./usr/include --exclude=./usr/lib/python3/dist-packages \
      --exclude='./usr/lib/x86_64-linux-gnu/blas' --exclude='./usr/lib/x86_64-linux-gnu/lapack' \
      --exclude='./usr/lib/x86_64-linux-gnu/libgfortran*' --exclude=./usr/share/doc \
      --exclude=./spyglass-python --exclude=./spyglass-python.properties --exclude=./.spyglass-provisioned \
      -cf - . | tar -C "$WORK/$v" -xf -
    busybox_into "$WORK/$v"
    mkdir -p "$WORK/$v/tmp" "$WORK/$v/app"; chmod 1777 "$WORK/$v/tmp"
    if import_root "$image" "$WORK/$v"; then log "built $image"; rm -f "$DIR/debian-$v.unavailable"
    else unavailable "debian-$v" "docker import of $image failed"; fi
    rm -rf "${WORK:?}/$v"
  done

  # pyenv's 3.12.1 is built with --enable-shared: the interpreter maps libpython3.12.so.1.0 (found by
  # its RUNPATH, so it keeps its host path). Its libraries are bookworm's, like the 3.11 image's.
  image=spyglass-test/pyenv-3.12:$REV
  local pyenv=/root/.pyenv/versions/3.12.1
  if have_image "$image"; then
    rm -f "$DIR/pyenv-3.12.unavailable"
  elif [ ! -x "$pyenv/bin/python3.12" ] || [ ! -d "$WORK/py311/root" ]; then
    unavailable pyenv-3.12 "no $pyenv/bin/python3.12, or bookworm's python3.11 packages could not be downloaded"
  else
    mkdir -p "$WORK/py311/root$pyenv"
    tar -C "$pyenv" --exclude=./lib/python3.12/test --exclude=./lib/python3.12/site-packages \
      --exclude=./lib/python3.12/idlelib --exclude=./lib/python3.12/tkinter --exclude=./lib/python3.12/ensurepip \
      --exclude=./lib/python3.12/lib2to3 --exclude=./lib/python3.12/pydoc_data --exclude='./lib/python3.12/config-*' \
      --exclude=./lib/libpython3.12.a --exclude=./include --exclude=./share -cf - . | tar -C "$WORK/py311/root$pyenv" -xf -
    if import_root "$image" "$WORK/py311/root" --exclude=./usr/share/doc --exclude=./usr/share/man \
        --exclude=./usr/share/locale; then
      log "built $image"; rm -f "$DIR/pyenv-3.12.unavailable"
    else
      unavailable pyenv-3.12 "docker import of $image failed"
    fi
  fi
  rm -f "$DIR/images.unavailable"
}

case "${1:-start}" in
  start)
    if start_engine; then
      rm -f "$DIR/engine.unavailable"
      build_images
    fi
    ;;
  images)
    if engine_answers; then build_images; else unavailable engine "no Docker engine answers (docker info)"; fi
    ;;
  stop) stop_engine ;;
  -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
  *) log "unknown command: $1 (start, images or stop)"; exit 2 ;;
esac
exit 0
