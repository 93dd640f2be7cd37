#!/usr/bin/env bash
# Installs ffmpeg from Debian's packages when it is missing (video uploads need it).
set -euo pipefail
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null && exit 0
echo "ffmpeg is missing; installing it with apt-get" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
for i in 1 2 3; do
  if $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ffmpeg >/dev/null; then
    exit 0
  fi
  echo "apt-get failed (attempt $i); retrying" >&2
  sleep 3
done
echo "could not install ffmpeg; install it by hand (apt-get install ffmpeg)" >&2
exit 1
