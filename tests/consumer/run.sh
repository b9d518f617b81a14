#!/usr/bin/env bash
# Builds and runs tests/consumer as a host project would, both ways:
#   run.sh package SOURCE_DIR WORK_DIR       cmake --install, then find_package
#   run.sh subdirectory SOURCE_DIR WORK_DIR  add_subdirectory
set -euo pipefail
mode=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
args=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DCHATROOM_CONSUME="$mode" -DCHATROOM_SOURCE_DIR="$src")
if [ "$mode" = package ]; then
  cmake -S "$src" -B "$work/chatroom" -G Ninja -DCHATROOM_BUILD_TESTS=OFF -DCHATROOM_BUILD_EXAMPLES=OFF \
    -DCMAKE_INSTALL_PREFIX="$work/prefix" >"$work/chatroom.log"
  cmake --install "$work/chatroom" >>"$work/chatroom.log"
  args+=(-DCMAKE_PREFIX_PATH="$work/prefix")
fi
cmake -S "$src/tests/consumer" -B "$work/build" "${args[@]}" >"$work/configure.log"
ninja -C "$work/build" >"$work/build.log" || { tail -40 "$work/build.log"; exit 1; }
"$work/build/consumer"
"$work/build/two_units"
if [ -x "$work/build/redis_consumer" ]; then "$work/build/redis_consumer"; fi
echo "consumer ($mode): ok"
