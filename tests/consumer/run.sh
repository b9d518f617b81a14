#!/usr/bin/env bash
# Builds and runs a program that uses chatroom as a host project would:
#   run.sh package SOURCE_DIR WORK_DIR       cmake --install, then find_package (tests/consumer)
#   run.sh subdirectory SOURCE_DIR WORK_DIR  add_subdirectory (tests/consumer)
#   run.sh pkgconfig SOURCE_DIR WORK_DIR     cmake --install, then c++ $(pkg-config --cflags --libs chatroom)
#   run.sh single-header SOURCE_DIR WORK_DIR c++ -std=c++17 -I DIR main.cpp -pthread, with DIR
#                                            holding single_include/chatroom.hpp alone (README);
#                                            then single_web.cpp with chatroom/web.hpp added
#   run.sh vcpkg SOURCE_DIR WORK_DIR         installed with the overlay port's CMake options
#                                            (packaging/vcpkg/chatroom/portfile.cmake), then
#                                            packaging/vcpkg/test, the port's usage, built against it
#   run.sh conan SOURCE_DIR WORK_DIR         packaging/conan/test_package's CMake project built
#                                            against the tree installed by cmake --install
# vcpkg and Conan themselves are not installable here (Debian has neither);
# tests/packaging/check_packaging.py checks their files.
set -euo pipefail
mode=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
prefix="$work/prefix"

# install [CMAKE_ARGS...]: configures chatroom alone and installs it into $prefix.
install_chatroom() {
  cmake -S "$src" -B "$work/chatroom" -G Ninja -DCHATROOM_BUILD_TESTS=OFF -DCHATROOM_BUILD_EXAMPLES=OFF \
    -DCMAKE_INSTALL_PREFIX="$prefix" "$@" >"$work/chatroom.log"
  cmake --install "$work/chatroom" >>"$work/chatroom.log"
}

# build_cmake PROJECT_DIR [CMAKE_ARGS...]: configures and builds a consumer project.
build_cmake() {
  local dir=$1; shift
  cmake -S "$dir" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >"$work/configure.log" \
    || { cat "$work/configure.log"; exit 1; }
  ninja -C "$work/build" >"$work/build.log" || { tail -40 "$work/build.log"; exit 1; }
}

case "$mode" in
  package|subdirectory)
    args=(-DCHATROOM_CONSUME="$mode" -DCHATROOM_SOURCE_DIR="$src")
    if [ "$mode" = package ]; then
      install_chatroom
      args+=(-DCMAKE_PREFIX_PATH="$prefix")
    fi
    build_cmake "$src/tests/consumer" "${args[@]}"
    "$work/build/consumer"
    "$work/build/two_units"
    if [ -x "$work/build/redis_consumer" ]; then "$work/build/redis_consumer"; fi
    ;;
  pkgconfig)
    install_chatroom
    # Moved after installing: the .pc files find their prefix from where they are.
    mv "$prefix" "$work/moved" && prefix="$work/moved"
    pcdir=$(dirname "$(find "$prefix" -name chatroom.pc)")
    export PKG_CONFIG_PATH="$pcdir"
    want=$(sed -nE 's/^project\(chatroom VERSION ([0-9.]+).*/\1/p' "$src/CMakeLists.txt")
    got=$(pkg-config --modversion chatroom)
    [ "$got" = "$want" ] || { echo "chatroom.pc says version $got, CMakeLists.txt $want"; exit 1; }
    incdir=$(pkg-config --variable=includedir chatroom)
    [ "$(realpath "$incdir")" = "$(realpath "$prefix/include")" ] \
      || { echo "chatroom.pc does not point into the moved prefix: includedir=$incdir"; exit 1; }
    mkdir -p "$work/build"
    cxx=${CXX:-c++}
    # shellcheck disable=SC2046
    $cxx -std=c++17 -Wall -Wextra -Wpedantic -Werror -o "$work/build/consumer" "$src/tests/consumer/main.cpp" \
      $(pkg-config --cflags --libs chatroom)
    "$work/build/consumer"
    if pkg-config --exists hiredis; then
      # shellcheck disable=SC2046
      $cxx -std=c++17 -Wall -Wextra -Wpedantic -Werror -o "$work/build/redis_consumer" \
        "$src/tests/consumer/redis_consumer.cpp" $(pkg-config --cflags --libs chatroom-redis)
      "$work/build/redis_consumer"
    fi
    ;;
  single-header)
    # The README's command, with nothing but the one file and Asio.
    mkdir -p "$work/single" "$work/build"
    cp "$src/single_include/chatroom.hpp" "$work/single/"
    ${CXX:-c++} -std=c++17 -Wall -Wextra -Wpedantic -Werror -I "$work/single" -o "$work/build/consumer" \
      "$src/tests/consumer/main.cpp" -pthread
    "$work/build/consumer"
    # Browsers the same way: single_include/chatroom/web.hpp beside it, nothing else.
    mkdir -p "$work/single/chatroom"
    cp "$src/single_include/chatroom/web.hpp" "$work/single/chatroom/"
    ${CXX:-c++} -std=c++17 -Wall -Wextra -Wpedantic -Werror -I "$work/single" -o "$work/build/single_web" \
      "$src/tests/consumer/single_web.cpp" -pthread
    "$work/build/single_web"
    ;;
  vcpkg)
    portfile="$src/packaging/vcpkg/chatroom/portfile.cmake"
    mapfile -t port_options < <(grep -oE -- '-DCHATROOM_[A-Z_]+=[^ )"]+' "$portfile")
    [ ${#port_options[@]} -gt 0 ] || { echo "no -DCHATROOM_ options found in $portfile"; exit 1; }
    install_chatroom "${port_options[@]}"
    test -f "$prefix/share/chatroom/chatroomConfig.cmake" || { echo "no share/chatroom/chatroomConfig.cmake"; exit 1; }
    test -f "$prefix/share/pkgconfig/chatroom.pc" || { echo "no share/pkgconfig/chatroom.pc"; exit 1; }
    build_cmake "$src/packaging/vcpkg/test" -DCMAKE_PREFIX_PATH="$prefix"
    for p in main main_redis main_tls; do
      if [ -x "$work/build/$p" ]; then "$work/build/$p"; fi
    done
    ;;
  conan)
    install_chatroom
    build_cmake "$src/packaging/conan/test_package" -DCMAKE_PREFIX_PATH="$prefix"
    "$work/build/test_package"
    ;;
  *) echo "unknown mode: $mode" >&2; exit 2 ;;
esac
echo "consumer ($mode): ok"
